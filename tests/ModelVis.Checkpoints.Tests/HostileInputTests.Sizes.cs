using System.Text;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    // ---- size products that wrap ---------------------------------------------------------------------------

    [Fact]
    public void ASafetensorsShapeWhoseByteSizeWrapsIsRefused()
    {
        using var dir = new Fixtures.TempDir();
        // [2^62] F32 is 2^64 bytes, which wraps to 0 and would match data_offsets [0, 0].
        var header = Encoding.UTF8.GetBytes("""{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}""");
        var path = dir.File("wrap.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
        var e = Refused(path);
        Assert.Contains("`w`", e.Message);
        Assert.Contains("too large", e.Message);
    }

    static string TorchFile(Fixtures.TempDir dir, string storageType, long[] shape, long[] stride, byte[] storage, string name = "m.pt")
    {
        var pickle = TorchZipBuilder.StateDictPickle([new("w", storageType, "0", storage.Length, 0, shape, stride)]);
        var path = dir.File(name);
        TorchZipBuilder.Write(path, pickle, new Dictionary<string, byte[]> { ["0"] = storage });
        return path;
    }

    [Fact]
    public void AStrideZeroViewWhoseByteSizeWrapsIsRefused()
    {
        using var dir = new Fixtures.TempDir();
        // 2^30 × 2^30 × 4 doubles over one stored element: 2^62 elements, 2^65 bytes.
        var path = TorchFile(dir, "DoubleStorage", [1L << 30, 1L << 30, 4], [0, 0, 0], new byte[8]);
        var e = Refused(path);
        Assert.Contains("`w`", e.Message);
        Assert.Contains("overflows", e.Message);
    }

    [Fact]
    public void AHugeStrideZeroViewOpensButReadingItWholeIsAUserError()
    {
        using var dir = new Fixtures.TempDir();
        var path = TorchFile(dir, "FloatStorage", [1L << 30, 1L << 30], [0, 0], TorchZipBuilder.Floats(7));
        using var c = CheckpointLoader.Open(path);
        var t = c.Get("w");
        Assert.Equal(1L << 62, t.ByteLength);
        var e = Assert.Throws<CheckpointException>(() => c.ReadFloats(t));
        Assert.Contains("more than one array holds", e.Message);
        var some = new float[4];
        c.ReadFloats(t, (1L << 60) - 4, some); // a range of it reads fine
        Assert.All(some, v => Assert.Equal(7f, v));
    }
}
