using ModelVis.Runs;
using ModelVis.Tests;

namespace ModelVis.Runs.Tests;

public class LogTests
{
    [Fact]
    public void LightningMetricsCsv_EmptyCellsSkipped_StepColumnIsTheXAxis()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("metrics.csv");
        File.WriteAllText(path,
            "epoch,step,train_loss,val_loss,val_acc\r\n" +
            "0,49,2.5,,\r\n" +
            "0,99,2.0,,\r\n" +
            "0,99,,1.8,0.41\r\n" +
            "1,149,1.5,,\r\n");
        var run = RunReader.Read(dir.Path);
        Assert.Empty(run.Problems);
        Assert.Equal(["epoch", "train_loss", "val_loss", "val_acc"], run.Scalars.Keys);
        Assert.Equal([49L, 99, 149], run.Scalars["train_loss"].Steps);
        Assert.Equal([2.5, 2.0, 1.5], run.Scalars["train_loss"].Values);
        Assert.Equal([99L], run.Scalars["val_loss"].Steps);
        Assert.Equal([0.41], run.Scalars["val_acc"].Values);
        Assert.Equal([0.0, 0, 0, 1], run.Scalars["epoch"].Values);
        Assert.True(double.IsNaN(run.Scalars["train_loss"].WallTimes[0]));
    }

    [Fact]
    public void KerasCsvLogger_EpochIsTheXAxis_QuotedAndNonFiniteCells()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("training.csv");
        File.WriteAllText(path,
            "epoch,loss,\"val,loss\",lr\n" +
            "0,0.9,1.1,0.001\n" +
            "1,nan,\"0.95\",0.001\n" +
            "2,0.5,inf,0.0005\n");
        var run = RunReader.Read(path);
        Assert.Equal(["loss", "val,loss", "lr"], run.Scalars.Keys);
        Assert.Equal([0L, 1, 2], run.Scalars["loss"].Steps);
        Assert.True(double.IsNaN(run.Scalars["loss"].Values[1]));
        Assert.Equal([1.1, 0.95, double.PositiveInfinity], run.Scalars["val,loss"].Values);
    }

    [Fact]
    public void Csv_BadRowReportedWithLine_RowBeingWrittenWaits_ReadingOnAppends()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("log.csv");
        File.WriteAllText(path, "step,loss,time\n1,0.9,100.5\n2,0.8\n3,0.7,102.5\n4,0.");
        var run = RunReader.Read(path);
        var problem = Assert.Single(run.Problems);
        Assert.Contains("line 3", problem.Message);
        Assert.Equal([1L, 3], run.Scalars["loss"].Steps);
        Assert.Equal([100.5, 102.5], run.Scalars["loss"].WallTimes);
        long offset = run.Offsets[path];
        Assert.Equal(File.ReadAllText(path).LastIndexOf('\n') + 1, offset);

        File.AppendAllText(path, "65,103.5\n5,0.6,104.5\n");
        var more = RunReader.ReadOn(path, run.Cursor, out var reset);
        Assert.Empty(reset);
        Assert.Empty(more.Problems);
        Assert.Equal([4L, 5], more.Scalars["loss"].Steps);
        Assert.Equal([0.65, 0.6], more.Scalars["loss"].Values);

        // Rewritten whole with a new column (Lightning does this): the old offset no longer starts a line.
        File.WriteAllText(path, "step,loss,time,acc\n1,0.9,100.5,0.1\n2,0.8,101.5,0.2\n3,0.7,102.5,0.3\n");
        var again = RunReader.ReadOn(path, more.Cursor, out reset);
        Assert.Equal([path], reset);
        Assert.Equal(3, again.Scalars["acc"].Count);
    }

    [Fact]
    public void Jsonl_StepsNestedKeysNaNBadLinesAndAPartialLastLine()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("train.jsonl");
        File.WriteAllText(path,
            "{\"step\": 0, \"loss\": 2.0, \"time\": 1700000000.5, \"val\": {\"loss\": 2.2}, \"phase\": \"train\"}\n" +
            "\n" +
            "{\"step\": 10, \"loss\": NaN, \"lr\": 0.01}\n" +
            "not json\n" +
            "[1, 2]\n" +
            "{\"step\": 20, \"loss\": 1.0, \"lr\": 0.005}\n" +
            "{\"step\": 30, \"loss\": 0.");
        var run = RunReader.Read(path);
        Assert.True(run.Problems.Count == 2, string.Join("; ", run.Problems));
        Assert.Contains("line 4", run.Problems[0].Message);
        Assert.Contains("line 5", run.Problems[1].Message);
        Assert.Equal(["loss", "val/loss", "lr"], run.Scalars.Keys);
        Assert.Equal([0L, 10, 20], run.Scalars["loss"].Steps);
        Assert.True(double.IsNaN(run.Scalars["loss"].Values[1]));
        Assert.Equal(1700000000.5, run.Scalars["loss"].WallTimes[0]);
        Assert.Equal([0.01, 0.005], run.Scalars["lr"].Values);

        File.AppendAllText(path, "5}\n{\"loss\": 0.4}\n");
        var more = RunReader.ReadOn(path, run.Cursor, out _);
        Assert.Empty(more.Problems);
        // The object without a step is numbered by its index among the objects read (4 before it).
        Assert.Equal([30L, 4], more.Scalars["loss"].Steps);
        Assert.Equal([0.5, 0.4], more.Scalars["loss"].Values);
    }

    [Fact]
    public void Discovery_FindsRunFoldersAndSkipsOtherCsv()
    {
        using var dir = new Fixtures.TempDir();
        Directory.CreateDirectory(dir.File("lightning_logs/version_0"));
        Directory.CreateDirectory(dir.File("data"));
        Directory.CreateDirectory(dir.File("node_modules/x"));
        File.WriteAllText(dir.File("lightning_logs/version_0/metrics.csv"), "epoch,step,loss\n0,1,0.5\n");
        File.WriteAllText(dir.File("data/table.csv"), "name,price\na,1\n");
        File.WriteAllText(dir.File("node_modules/x/log.jsonl"), "{\"step\": 1}\n");
        EventFileWriting.Write(dir.File("events.out.tfevents.5.h.1.0"), [EventFileWriting.SimpleScalar("a", 0, 1, 1)]);
        var runs = RunDiscovery.Find([dir.Path]);
        Assert.Equal([dir.Path, dir.File("lightning_logs/version_0")], runs.Select(r => r.Path));
        Assert.Equal("lightning_logs/version_0", runs[1].Name);
        Assert.Equal("csv", runs[1].Files.Single().Kind);
        Assert.Equal("tfevents", runs[0].Files.Single().Kind);

        var e = Assert.Throws<RunFormatException>(() => RunReader.Read(dir.File("lightning_logs")));
        Assert.Contains("version_0", e.Message);
    }
}
