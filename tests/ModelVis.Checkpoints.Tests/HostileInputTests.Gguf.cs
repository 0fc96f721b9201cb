using System.Buffers.Binary;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    // ---- GGUF metadata -----------------------------------------------------------------------------------------------

    static byte[] U8Array(int n)
    {
        var payload = new byte[4 + 8 + n];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, 0); // item type U8
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(4), (ulong)n);
        return payload;
    }

    [Fact]
    public void GgufMetadataArraysAreBudgetedInAll()
    {
        // 9 MB of one-byte items would be 9 million boxed objects (~300 MB); refused before the second array is allocated.
        var b = new GgufBuilder().Kv("a", 9, U8Array(4_500_000)).Kv("b", 9, U8Array(4_500_000));
        using var dir = new Fixtures.TempDir();
        var path = dir.File("meta.gguf");
        File.WriteAllBytes(path, b.Build());
        var e = Refused(path);
        Assert.Contains("`b`", e.Message);
        Assert.Contains("in all", e.Message);
    }

    [Fact]
    public void AGgufArrayCountThatCannotFitIsRefusedBeforeAllocating()
    {
        // Eight-byte items: a count of 1,000,000 needs 8 MB; the file has 1 MB.
        var payload = new byte[4 + 8 + (1 << 20)];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, 10); // U64
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(4), 1_000_000);
        using var dir = new Fixtures.TempDir();
        var path = dir.File("count.gguf");
        File.WriteAllBytes(path, new GgufBuilder().Kv("a", 9, payload).Build());
        Assert.Contains("cannot fit", Refused(path).Message);
    }

    [Fact]
    public void AGgufOffsetPlusSizeThatWrapsIsRefused()
    {
        // Offset 2^62 and 2^60 F32 elements (2^62 bytes): the sum is 2^63, negative as a long.
        var bytes = new GgufBuilder().Tensor("w", 0, [1UL << 60], []).Build();
        // The tensor info ends with dims, the ggml type (4 bytes) and the offset (8 bytes): patch the offset in.
        int dims = bytes.AsSpan().IndexOf(BitConverter.GetBytes(1UL << 60));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(dims + 8 + 4), 1UL << 62);
        using var dir = new Fixtures.TempDir();
        var path = dir.File("wrap.gguf");
        File.WriteAllBytes(path, bytes);
        Assert.Contains("`w`", Refused(path).Message);
    }
}
