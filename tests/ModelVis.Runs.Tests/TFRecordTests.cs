using ModelVis.Runs;
using ModelVis.Tests;

namespace ModelVis.Runs.Tests;

public class TFRecordTests
{
    /// <summary>An event file of a file_version record and <paramref name="n"/> scalars loss = step/10; returns record offsets.</summary>
    static List<long> WriteLoss(string path, int n)
    {
        var offsets = new List<long>();
        using var f = File.Create(path);
        void Add(ModelVis.Runs.Proto.Event e) { offsets.Add(f.Position); f.Write(EventFileWriting.Frame(e)); }
        Add(EventFileWriting.FileVersion(1000));
        for (int i = 0; i < n; i++) Add(EventFileWriting.SimpleScalar("loss", i, 1000 + i, i / 10f));
        return offsets;
    }

    static void Patch(string path, long offset, Func<byte, byte> change)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte(change((byte)b));
    }

    [Fact]
    public void CorruptDataInTheMiddle_IsReportedWithItsOffsetAndSkipped()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1.a");
        var offsets = WriteLoss(path, 10);
        // Record 5 (step 4): flip a byte of its data (12 bytes of header in).
        Patch(path, offsets[5] + 14, b => (byte)(b ^ 0x40));
        var run = RunReader.Read(path);
        var problem = Assert.Single(run.Problems);
        Assert.Equal(offsets[5], problem.Offset);
        Assert.Contains("CRC", problem.Message);
        Assert.Equal([0L, 1, 2, 3, 5, 6, 7, 8, 9], run.Scalars["loss"].Steps);
    }

    [Fact]
    public void CorruptHeader_SkipsToTheNextValidRecord()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1.b");
        var offsets = WriteLoss(path, 10);
        // Record 3 (step 2): damage its length, so the header CRC fails and the length cannot be trusted.
        Patch(path, offsets[3] + 1, b => (byte)(b ^ 0x01));
        var run = RunReader.Read(path);
        var problem = Assert.Single(run.Problems);
        Assert.Equal(offsets[3], problem.Offset);
        Assert.Contains("header", problem.Message);
        Assert.Contains($"skipped {offsets[4] - offsets[3]} bytes", problem.Message);
        Assert.Equal([0L, 1, 3, 4, 5, 6, 7, 8, 9], run.Scalars["loss"].Steps);
    }

    [Fact]
    public void CutLastRecord_IsNotAnError_AndReadingOnPicksItUp()
    {
        using var dir = new Fixtures.TempDir();
        var full = dir.File("full");
        var offsets = WriteLoss(full, 6);
        var bytes = File.ReadAllBytes(full);
        long lastStart = offsets[^1];
        // Cut inside the header, inside the data and inside the footer of the last record.
        foreach (long cut in new[] { lastStart + 5, lastStart + 15, bytes.Length - 2L })
        {
            var path = dir.File($"events.out.tfevents.cut{cut}");
            File.WriteAllBytes(path, bytes[..(int)cut]);
            var run = RunReader.Read(path);
            Assert.Empty(run.Problems);
            Assert.Equal([0L, 1, 2, 3, 4], run.Scalars["loss"].Steps);
            Assert.Equal(lastStart, run.Offsets[path]);
            Assert.Contains(run.Notes, n => n.Contains("still writing"));

            // The writer finishes the record and adds another: reading on from the offset gives only the new points.
            using (var f = new FileStream(path, FileMode.Append)) f.Write(bytes.AsSpan((int)cut));
            using (var f = new FileStream(path, FileMode.Append)) f.Write(EventFileWriting.Frame(EventFileWriting.SimpleScalar("loss", 6, 1006, 0.6f)));
            var more = RunReader.ReadOn(path, run.Cursor, out var reset);
            Assert.Empty(reset);
            Assert.Equal([5L, 6], more.Scalars["loss"].Steps);
            Assert.Equal(new FileInfo(path).Length, more.Offsets[path]);
        }
    }

    [Fact]
    public void GarbageAfterValidRecords_IsReportedOnce()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1.c");
        WriteLoss(path, 3);
        long end = new FileInfo(path).Length;
        using (var f = new FileStream(path, FileMode.Append)) f.Write(Enumerable.Range(0, 40).Select(i => (byte)(i * 37 + 11)).ToArray());
        var run = RunReader.Read(path);
        var problem = Assert.Single(run.Problems);
        Assert.Equal(end, problem.Offset);
        Assert.Equal(3, run.Scalars["loss"].Count);
    }

    [Fact]
    public void RecordThatIsNotAnEvent_IsReportedAndSkipped()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("events.out.tfevents.1.d");
        using (var f = File.Create(path))
        {
            f.Write(EventFileWriting.Frame(EventFileWriting.SimpleScalar("loss", 0, 1, 1f)));
            f.Write(EventFileWriting.Frame([0xFF, 0xFF, 0xFF])); // valid framing, invalid protobuf
            f.Write(EventFileWriting.Frame(EventFileWriting.SimpleScalar("loss", 1, 2, 0.5f)));
        }
        var run = RunReader.Read(path);
        Assert.Single(run.Problems);
        Assert.Equal([1.0, 0.5], run.Scalars["loss"].Values);
    }
}
