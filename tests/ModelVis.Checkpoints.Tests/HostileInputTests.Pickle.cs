using System.Diagnostics;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    // ---- the pickle: memo, stack, marks and work ---------------------------------------------------------------

    static string WithPickle(Fixtures.TempDir dir, byte[] pickle)
    {
        var path = dir.File("p.pt");
        TorchZipBuilder.Write(path, pickle, new Dictionary<string, byte[]>());
        return path;
    }

    [Fact]
    public void BillionLaughsThroughTheMemoEndsQuickly()
    {
        // L0 = []; L(i+1) = [Li, Li] by memo reference; root = {"a": L60}: under 1 KB, a tree of 2^60 nodes.
        var w = new PickleWriter().Proto().Op((byte)']').Op((byte)'q').Op(0).Op((byte)'0');
        for (int i = 0; i < 60; i++)
            w.Op((byte)']').Mark().Op((byte)'h').Op((byte)i).Op((byte)'h').Op((byte)i).Op((byte)'e').Op((byte)'q').Op((byte)(i + 1)).Op((byte)'0');
        var pickle = w.EmptyDict().Str("a").Op((byte)'h').Op(60).SetItem().Stop().ToArray();
        Assert.True(pickle.Length < 1024);
        using var dir = new Fixtures.TempDir();
        var sw = Stopwatch.StartNew();
        var e = Refused(WithPickle(dir, pickle));
        Assert.Contains("shared references", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void MemoReferencesCopiedIntoSetsRunOutOfBudget()
    {
        // A list of 4,096 items, then set(list) again and again: each call copies the list (4,096 units of work).
        var w = new PickleWriter().Proto().Op((byte)']').Mark();
        for (int i = 0; i < 4096; i++) w.Op((byte)'N');
        w.Op((byte)'e').Op((byte)'q').Op(0);
        for (int i = 0; i < 8192; i++)
            w.Global("builtins", "set").Op((byte)'h').Op(0).Op(0x85).Reduce().Op((byte)'0');
        var pickle = w.Op((byte)'0').EmptyDict().Stop().ToArray();
        using var dir = new Fixtures.TempDir();
        var e = Refused(WithPickle(dir, pickle));
        Assert.Contains("units of work", e.Message);
    }

    [Fact]
    public void TheStackIsBounded()
    {
        var pickle = new byte[(1 << 20) + 16];
        pickle.AsSpan().Fill((byte)'N');
        pickle[0] = 0x80; pickle[1] = 2;
        using var dir = new Fixtures.TempDir();
        Assert.Contains("stack grows past", Refused(WithPickle(dir, pickle)).Message);
    }

    [Fact]
    public void TheMemoIsBounded()
    {
        var pickle = new byte[(1 << 20) + 16];
        pickle.AsSpan().Fill(0x94); // MEMOIZE, each under a new key
        pickle[0] = 0x80; pickle[1] = 4; pickle[2] = (byte)']';
        using var dir = new Fixtures.TempDir();
        Assert.Contains("memo grows past", Refused(WithPickle(dir, pickle)).Message);
    }

    [Fact]
    public void OpenMarksAreBounded()
    {
        var pickle = new byte[100_000];
        pickle.AsSpan().Fill((byte)'(');
        pickle[0] = 0x80; pickle[1] = 2;
        using var dir = new Fixtures.TempDir();
        Assert.Contains("open MARKs", Refused(WithPickle(dir, pickle)).Message);
    }

    [Fact]
    public void ManyTensorsSharingOneStorageOpenInLinearTime()
    {
        // 20,000 names for one storage: listing each one's sharers by copying was quadratic.
        var specs = Enumerable.Range(0, 20_000).Select(i => new TorchTensorSpec($"t{i}", "FloatStorage", "0", 1, 0, [1], [1]));
        var pickle = TorchZipBuilder.StateDictPickle(specs);
        using var dir = new Fixtures.TempDir();
        var path = dir.File("shared.pt");
        TorchZipBuilder.Write(path, pickle, new Dictionary<string, byte[]> { ["0"] = TorchZipBuilder.Floats(1) });
        using var c = Deadline.Within(20, () => CheckpointLoader.Open(path));
        var layout = c.Get("t5").Layout!;
        Assert.Equal(19_999, layout.SharesStorageWith.Count);
        Assert.DoesNotContain("t5", layout.SharesStorageWith);
        Assert.Equal("t4", layout.SharesStorageWith[4]);
        Assert.Equal("t6", layout.SharesStorageWith[5]);
    }
}
