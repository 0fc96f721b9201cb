using ModelVis.Runs;
using ModelVis.Tests;

namespace ModelVis.Runs.Tests;

public class EventFileTests
{
    static string RunFolder(string name) => Fixtures.Path_("runs", name);

    [Fact]
    public void LightningLstmRun_MatchesProvenance()
    {
        // PROVENANCE: 15,445 records: train_loss 7,691 points (2.06 → 0.24), val_loss 29 epochs (0.36 → 0.256), epoch, hp_metric.
        var file = Directory.GetFiles(RunFolder("lightning-lstm-shakespeare"), "events.out.tfevents.*").Single();
        int records = TFRecordReader.Read(file, 0, (_, _) => { }).Records;
        Assert.Equal(15445, records);

        var run = RunReader.Read(RunFolder("lightning-lstm-shakespeare"));
        Assert.Empty(run.Problems);
        Assert.Equal(["hp_metric", "train_loss", "epoch", "val_loss"], run.Scalars.Keys);
        var train = run.Scalars["train_loss"];
        Assert.Equal(7691, train.Count);
        Assert.Equal(2.06, train.Values[0], 0.005);
        Assert.Equal(0.24, train.Values[^1], 0.005);
        var val = run.Scalars["val_loss"];
        Assert.Equal(29, val.Count);
        Assert.Equal(0.36, val.Values[0], 0.005);
        Assert.Equal(0.256, val.Values[^1], 0.0005);
        // Steps in file order rise; wall times are real 2024 times (the file name's 1716735746).
        Assert.True(train.Steps.Zip(train.Steps.Skip(1)).All(p => p.First < p.Second));
        Assert.InRange(train.WallTimes[0], 1716735746, 1716735746 + 86400);
        Assert.Equal(new FileInfo(file).Length, run.Offsets[file]);
        Assert.Contains(run.Notes, n => n.Contains("hparams"));
    }

    [Fact]
    public void LightningMnistRun_MatchesProvenance()
    {
        // PROVENANCE: 409 records (train_loss_step, valid_loss_*, epoch).
        var folder = RunFolder("lightning-mnist-mlp");
        var file = Directory.GetFiles(folder, "events.out.tfevents.*").Single();
        Assert.Equal(409, TFRecordReader.Read(file, 0, (_, _) => { }).Records);
        var run = RunReader.Read(folder);
        Assert.Empty(run.Problems);
        Assert.Contains("train_loss_step", run.Scalars.Keys);
        Assert.Contains("epoch", run.Scalars.Keys);
        Assert.Contains(run.Scalars.Keys, k => k.StartsWith("valid_loss_", StringComparison.Ordinal));
        // The metrics.csv-free folder: only the event file is a log (hparams.yaml and the .ckpt are not).
        Assert.Single(RunReader.LogFiles(folder));
    }

    [Fact]
    public void Tf2TensorSummaries_ScalarsAndHistograms()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1700000000.host.1.v2");
        var buckets0 = new double[,] { { -1, -0.5, 3 }, { -0.5, 0, 5 }, { 0, 0.5, 7 }, { 0.5, 1, 1 } };
        var buckets1 = new double[,] { { -2, 0, 10 }, { 0, 2, 6 } };
        EventFileWriting.Write(path,
        [
            EventFileWriting.FileVersion(1700000000),
            EventFileWriting.Tf2Scalar("loss", 0, 1700000001.5, 2.5f, withMetadata: true, asContent: false),
            EventFileWriting.Tf2Histogram("dense/kernel", 0, 1700000001.6, buckets0, withMetadata: true),
            EventFileWriting.Tf2Scalar("loss", 10, 1700000002.5, 1.25f, withMetadata: false, asContent: true),
            EventFileWriting.Tf2Histogram("dense/kernel", 10, 1700000002.6, buckets1, withMetadata: false),
            EventFileWriting.Tf2Scalar("accuracy", 10, 1700000002.7, 0.75f, withMetadata: true, asContent: true),
        ]);
        var run = RunReader.Read(path);
        Assert.Empty(run.Problems);
        Assert.Equal(["loss", "accuracy"], run.Scalars.Keys);
        Assert.Equal([0L, 10L], run.Scalars["loss"].Steps);
        Assert.Equal([2.5, 1.25], run.Scalars["loss"].Values);
        Assert.Equal([1700000001.5, 1700000002.5], run.Scalars["loss"].WallTimes);
        Assert.Equal([0.75], run.Scalars["accuracy"].Values);

        var h = run.Histograms["dense/kernel"].Steps;
        Assert.Equal(2, h.Count);
        Assert.Equal([-1.0, -0.5, 0, 0.5], h[0].Left);
        Assert.Equal([-0.5, 0, 0.5, 1], h[0].Right);
        Assert.Equal([3.0, 5, 7, 1], h[0].Counts);
        Assert.Equal(10, h[1].Step);
        Assert.Equal([10.0, 6], h[1].Counts);
        Assert.Equal(16, h[1].Total);

        // Reading on after the file grows: the tag's plugin (named on its first value only) is remembered.
        using (var f = new FileStream(path, FileMode.Append))
            f.Write(EventFileWriting.Frame(EventFileWriting.Tf2Scalar("loss", 20, 1700000003.5, 0.625f, withMetadata: false, asContent: true)));
        var more = RunReader.ReadOn(path, run.Cursor, out _);
        Assert.Equal([0.625], more.Scalars["loss"].Values);
        Assert.Empty(more.Histograms);
    }

    [Fact]
    public void PyTorchStyle_SimpleValueAndHistoProto()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1700000000.host.2.0");
        // Bucket limits padded out with empty buckets, as PyTorch's default bins do; bucket i is (limit[i-1], limit[i]].
        double[] limits = [-10, -1, 0, 1, 2, 10, double.MaxValue];
        double[] counts = [0, 0, 4, 6, 2, 0, 0];
        EventFileWriting.Write(path,
        [
            EventFileWriting.FileVersion(1700000000),
            EventFileWriting.SimpleScalar("Loss/train", 1, 1700000000.25, 0.5f),
            EventFileWriting.Histo("fc1.weight", 1, 1700000000.5, -0.8, 1.9, limits, counts),
            EventFileWriting.SimpleScalar("Loss/train", 2, 1700000000.75, 0.25f),
        ]);
        var run = RunReader.Read(path);
        Assert.Equal([0.5, 0.25], run.Scalars["Loss/train"].Values);
        var h = run.Histograms["fc1.weight"].Steps.Single();
        // Buckets (-1,0], (0,1], (1,2] hold 4, 6, 2 values; the outer edges are the observed min and max.
        Assert.Equal([-0.8, 0, 1], h.Left);
        Assert.Equal([0, 1, 1.9], h.Right);
        Assert.Equal([4.0, 6, 2], h.Counts);
    }

    [Fact]
    public void HistogramPercentiles_InterpolateWithinBuckets()
    {
        // One bucket [0, 10] of 100 values: the percentile at p basis points is 10·p/10000.
        var p = HistogramPercentiles.Compute(new HistogramStep(0, 0, [0], [10], [100]));
        Assert.Equal(HistogramPercentiles.BasisPoints.Select(bp => 10.0 * bp / 10000), p.Select(x => Math.Round(x, 9)));
        // Two buckets [0,1] (25 values) and [1,3] (75 values): the median lies a third of the way into the second bucket.
        var q = HistogramPercentiles.Compute([0, 1], [1, 3], [25, 75], [0, 2500, 5000, 10000]);
        Assert.Equal(new[] { 0, 1, 1 + 2.0 / 3, 3 }.Select(x => Math.Round(x, 9)), q.Select(x => Math.Round(x, 9)));
    }
}

public class EventFileWriterTests
{
    [Fact]
    public void WrittenScalars_ReadBackInOrder_AndFollowableWhileOpen()
    {
        using var dir = new Fixtures.TempDir();
        using var w = EventFileWriter.Create(dir.Path);
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(w.Path));
        w.AddScalar("train/loss", 1, 2.5, 1700000000.25);
        w.AddScalar("train/lr", 1, 0.001, 1700000000.25);
        w.AddScalar("train/loss", 2, 2.0, 1700000001.25);
        // Read while the writer still holds the file open, as a panel following a run does.
        var run = RunReader.Read(dir.Path);
        Assert.Empty(run.Problems);
        Assert.Equal(["train/loss", "train/lr"], run.Scalars.Keys);
        Assert.Equal([1L, 2], run.Scalars["train/loss"].Steps);
        Assert.Equal([2.5, 2.0], run.Scalars["train/loss"].Values);
        Assert.Equal([1700000000.25, 1700000001.25], run.Scalars["train/loss"].WallTimes);
        Assert.Equal((float)0.001, (float)run.Scalars["train/lr"].Values[0]);

        w.AddScalar("train/loss", 3, 1.5);
        var more = RunReader.ReadOn(dir.Path, run.Cursor, out _);
        Assert.Equal([3L], more.Scalars["train/loss"].Steps);
        Assert.InRange(more.Scalars["train/loss"].WallTimes[0], DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
    }
}
