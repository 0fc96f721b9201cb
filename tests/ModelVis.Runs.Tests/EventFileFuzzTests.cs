using Google.Protobuf;
using ModelVis.Runs.Proto;
using ModelVis.Tests;
using Xunit.Abstractions;

namespace ModelVis.Runs.Tests;

/// <summary>
/// TFRecord framing and event protos fuzzed (<see cref="BoundedFuzzer"/>). Two fuzzers: whole files mutated (lengths,
/// CRCs, cuts — the framing), and the Event protos mutated inside records re-framed with valid CRCs (so the mutations
/// reach the proto and summary readers: hostile tensor shapes, histogram buckets, dtypes). Every file must read to a
/// run with its problems listed, or a <see cref="RunFormatException"/>, within the fuzzer's bounds.
/// </summary>
public class EventFileFuzzTests(ITestOutputHelper output)
{
    static readonly string[] FixtureRuns = ["lightning-mnist-mlp", "lightning-lstm-shakespeare"];

    static byte[] FixtureEvents(string run, int maxBytes)
    {
        var file = Directory.GetFiles(Fixtures.Path_("runs", run), "events.out.tfevents.*").Single();
        var bytes = File.ReadAllBytes(file);
        return bytes.Length > maxBytes ? bytes[..maxBytes] : bytes;
    }

    /// <summary>Events of each kind the reader knows, written as TF2 and PyTorch write them.</summary>
    static Event[] SeedEvents() =>
    [
        EventFileWriting.FileVersion(1.5e9),
        EventFileWriting.SimpleScalar("loss", 1, 1.5e9, 0.5f),
        EventFileWriting.Tf2Scalar("acc", 2, 1.5e9, 0.75f, withMetadata: true, asContent: true),
        EventFileWriting.Tf2Scalar("lr", 3, 1.5e9, 1e-3f, withMetadata: true, asContent: false),
        EventFileWriting.Tf2Histogram("w", 4, 1.5e9, new double[,] { { 0, 1, 3 }, { 1, 2, 5 } }, withMetadata: true),
        EventFileWriting.Histo("b", 5, 1.5e9, -1, 1, [-0.5, 0, 0.5, double.MaxValue], [1, 2, 3, 4]),
    ];

    static BoundedFuzzer.Outcome Fuzz(string name, int seed, int inputs, IReadOnlyList<byte[]> seeds, Func<byte[], byte[]> toFile)
    {
        using var dir = new Fixtures.TempDir();
        int i = 0;
        return BoundedFuzzer.Run(name, seed, inputs, seeds, input =>
        {
            var path = dir.File($"events.out.tfevents.{i++ % 8}");
            File.WriteAllBytes(path, toFile(input));
            var run = new RunData();
            EventFileReader.Read(path, run);
            foreach (var series in run.Scalars.Values) _ = series.Count;
        }, typeof(RunFormatException));
    }

    [Fact]
    public void TFRecordFiles()
    {
        var written = SeedEvents().SelectMany(EventFileWriting.Frame).ToArray();
        var seeds = new[] { written, FixtureEvents(FixtureRuns[0], 8192), FixtureEvents(FixtureRuns[1], 8192) };
        output.WriteLine(Fuzz("tfrecord files", 51, 5_000, seeds, bytes => bytes).ToString());
    }

    [Fact]
    public void EventProtosInValidRecords()
    {
        var seeds = SeedEvents().Select(e => e.ToByteArray()).ToArray();
        // Each mutated proto framed with valid CRCs, between two good records.
        var good = EventFileWriting.Frame(SeedEvents()[1]);
        output.WriteLine(Fuzz("event protos", 52, 14_000, seeds, proto => [.. good, .. EventFileWriting.Frame(proto), .. good]).ToString());
    }
}
