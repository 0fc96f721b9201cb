using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    // ---- deflated entries -------------------------------------------------------------------------------------------

    /// <summary>Rewrites the uncompressed size the central directory gives for one entry.</summary>
    static void PatchDeclaredSize(string path, string entry, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        var name = Encoding.UTF8.GetBytes(entry);
        for (int p = 0; p + 46 < bytes.Length; p++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(p)) != 0x02014b50) continue;
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(p + 28));
            if (!bytes.AsSpan(p + 46, nameLen).SequenceEqual(name)) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(p + 24), size);
            File.WriteAllBytes(path, bytes);
            return;
        }
        Assert.Fail($"no central directory entry {entry}");
    }

    internal static string Deflated(Fixtures.TempDir dir, int floats, long[] shape)
    {
        var pickle = TorchZipBuilder.StateDictPickle([new("w", "FloatStorage", "0", floats, 0, shape, [1])]);
        var path = dir.File("deflated.pt");
        TorchZipBuilder.Write(path, pickle, new Dictionary<string, byte[]> { ["0"] = new byte[floats * 4] }, level: CompressionLevel.Optimal);
        return path;
    }

    [Fact]
    public void ADeflatedEntryMayNotInflatePastItsDeclaredSize()
    {
        using var dir = new Fixtures.TempDir();
        var path = Deflated(dir, 64, [62]);
        PatchDeclaredSize(path, "archive/data/0", 62 * 4); // it inflates to 64 floats
        using var c = CheckpointLoader.Open(path);
        var e = Assert.Throws<CheckpointException>(() => c.ReadFloats("w"));
        Assert.Contains("inflates past its declared 248 bytes", e.Message);
    }

    [Fact]
    public void ADeflatedEntryShorterThanDeclaredIsCorrupt()
    {
        using var dir = new Fixtures.TempDir();
        var path = Deflated(dir, 64, [66]);
        PatchDeclaredSize(path, "archive/data/0", 66 * 4);
        using var c = CheckpointLoader.Open(path);
        Assert.Contains("fewer than its declared", Assert.Throws<CheckpointException>(() => c.ReadFloats("w")).Message);
    }

    [Fact]
    public void ADeflatedEntryDeclaringGigabytesIsRefusedBeforeInflating()
    {
        using var dir = new Fixtures.TempDir();
        var path = Deflated(dir, 64, [8]);
        PatchDeclaredSize(path, "archive/data/0", 3u << 30); // 3 GiB claimed by a few hundred bytes
        using var c = CheckpointLoader.Open(path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => c.ReadFloats("w"));
        Assert.Contains("compressed", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }
}

/// <summary>
/// Memory measured across the whole process (GC.GetTotalMemory), so not beside other tests: the tests running in
/// parallel with it once left 7 MB on the heap between its two readings.
/// </summary>
[Collection("io-accounting")]
public class DeflatedMemoryTests
{
    [Fact]
    public void DeflatedStoragesAreNotKeptAfterReading()
    {
        using var dir = new Fixtures.TempDir();
        const int floats = 8 << 20; // 32 MB of zeros, a few KB deflated
        var path = HostileInputTests.Deflated(dir, floats, [floats]);
        Assert.True(new FileInfo(path).Length < 1 << 20);
        using var c = CheckpointLoader.Open(path);
        var t = c.Get("w");
        var chunk = new float[1 << 18];
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        for (int pass = 0; pass < 4; pass++)
            for (long at = 0; at < floats; at += chunk.Length)
                c.ReadFloats(t, at, chunk);
        long retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        Assert.True(retained < 4 << 20, $"{retained} bytes retained after reading a 32 MB deflated storage four times");
    }
}
