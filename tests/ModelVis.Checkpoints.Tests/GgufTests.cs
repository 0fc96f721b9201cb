using System.Text;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

/// <summary>Writes GGUF files by hand, following the format description (little-endian, v2/v3).</summary>
public sealed class GgufBuilder
{
    readonly MemoryStream _kv = new();
    int _kvCount;
    readonly List<(string Name, ulong[] Dims, uint Type, byte[] Data, ulong? Offset)> _tensors = new();
    public uint Version { get; set; } = 3;
    public long Alignment { get; set; } = 32;
    public string Magic { get; set; } = "GGUF";

    static byte[] Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return [.. BitConverter.GetBytes((ulong)b.Length), .. b];
    }

    public GgufBuilder Kv(string key, uint type, byte[] payload)
    {
        _kv.Write(Str(key));
        _kv.Write(BitConverter.GetBytes(type));
        _kv.Write(payload);
        _kvCount++;
        return this;
    }

    public GgufBuilder KvString(string key, string v) => Kv(key, 8, Str(v));
    public GgufBuilder KvU32(string key, uint v) => Kv(key, 4, BitConverter.GetBytes(v));

    public GgufBuilder Tensor(string name, uint type, ulong[] dims, byte[] data, ulong? offset = null)
    {
        _tensors.Add((name, dims, type, data, offset));
        return this;
    }

    public byte[] Build()
    {
        var s = new MemoryStream();
        s.Write(Encoding.ASCII.GetBytes(Magic));
        s.Write(BitConverter.GetBytes(Version));
        s.Write(BitConverter.GetBytes((ulong)_tensors.Count));
        s.Write(BitConverter.GetBytes((ulong)_kvCount));
        s.Write(_kv.ToArray());
        ulong offset = 0;
        var offsets = new List<ulong>();
        foreach (var t in _tensors)
        {
            s.Write(Str(t.Name));
            s.Write(BitConverter.GetBytes((uint)t.Dims.Length));
            foreach (var d in t.Dims) s.Write(BitConverter.GetBytes(d));
            s.Write(BitConverter.GetBytes(t.Type));
            ulong o = t.Offset ?? offset;
            s.Write(BitConverter.GetBytes(o));
            offsets.Add(o);
            offset = (ulong)(((long)o + t.Data.Length + Alignment - 1) / Alignment * Alignment);
        }
        while (s.Length % Alignment != 0) s.WriteByte(0);
        long start = s.Length;
        for (int i = 0; i < _tensors.Count; i++)
        {
            s.SetLength(Math.Max(s.Length, start + (long)offsets[i]));
            s.Position = start + (long)offsets[i];
            s.Write(_tensors[i].Data);
        }
        return s.ToArray();
    }
}

public class GgufTests
{
    static byte[] F32(params float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    static byte[] F16(params float[] v) => v.SelectMany(x => BitConverter.GetBytes((Half)x)).ToArray();
    static byte[] BF16(params float[] v) => v.SelectMany(x => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(x) >> 16))).ToArray();

    static string Save(Fixtures.TempDir dir, GgufBuilder b, string name = "model.gguf")
    {
        var path = dir.File(name);
        File.WriteAllBytes(path, b.Build());
        return path;
    }

    static GgufBuilder Sample(uint version = 3)
    {
        var b = new GgufBuilder { Version = version }
            .KvString("general.architecture", "llama")
            .KvU32("llama.block_count", 2)
            .Kv("general.flag", 7, [1])
            .Kv("general.scale", 6, BitConverter.GetBytes(0.5f))
            .Kv("general.big", 10, BitConverter.GetBytes(1UL << 40))
            .Kv("general.neg", 11, BitConverter.GetBytes(-5L))
            .Kv("general.pi", 12, BitConverter.GetBytes(Math.PI))
            .Kv("general.i8", 1, [0xff])
            .Kv("general.u16", 2, BitConverter.GetBytes((ushort)65535))
            .Kv("general.i16", 3, BitConverter.GetBytes((short)-2))
            .Kv("general.i32", 5, BitConverter.GetBytes(-7))
            .Kv("general.u8", 0, [200])
            // tokenizer.ggml.tokens: array of 3 strings
            .Kv("tokenizer.ggml.tokens", 9, [.. BitConverter.GetBytes(8u), .. BitConverter.GetBytes(3UL),
                .. Str("<s>"), .. Str("a"), .. Str("é")]);
        // token_embd: ggml dims [4, 3] (4 innermost) → shape [3, 4]
        b.Tensor("token_embd.weight", 0, [4, 3], F32(Enumerable.Range(0, 12).Select(i => i * 0.5f - 1).ToArray()));
        b.Tensor("output_norm.weight", 1, [4], F16(1, -2, 0.5f, 65504));
        b.Tensor("blk.0.attn_q.weight", 30, [2, 2], BF16(1, 2, -3, 0.25f));
        b.Tensor("blk.0.ffn_down.weight", 8, [32, 2], new byte[2 * 34]);   // Q8_0: 2 rows of one 34-byte block
        b.Tensor("blk.0.ffn_up.weight", 12, [256, 1], new byte[144]);      // Q4_K: one 144-byte block
        return b;
    }

    static byte[] Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return [.. BitConverter.GetBytes((ulong)b.Length), .. b];
    }

    [Theory]
    [InlineData(3u)]
    [InlineData(2u)]
    public void ReadsHeaderMetadataAndTensors(uint version)
    {
        using var dir = new Fixtures.TempDir();
        using var g = (GgufFile)CheckpointLoader.Open(Save(dir, Sample(version)));
        Assert.Equal(version, g.Version);
        Assert.Equal("llama", g.Metadata["general.architecture"]);
        Assert.Equal(2L, g.Metadata["llama.block_count"]);
        Assert.Equal(true, g.Metadata["general.flag"]);
        Assert.Equal(0.5, g.Metadata["general.scale"]);
        Assert.Equal(1UL << 40, g.Metadata["general.big"]);
        Assert.Equal(-5L, g.Metadata["general.neg"]);
        Assert.Equal(Math.PI, g.Metadata["general.pi"]);
        Assert.Equal(-1L, g.Metadata["general.i8"]);
        Assert.Equal(65535L, g.Metadata["general.u16"]);
        Assert.Equal(-2L, g.Metadata["general.i16"]);
        Assert.Equal(-7L, g.Metadata["general.i32"]);
        Assert.Equal(200L, g.Metadata["general.u8"]);
        Assert.Equal(new object[] { "<s>", "a", "é" }, (object[])g.Metadata["tokenizer.ggml.tokens"]);
        Assert.Equal(32, g.Alignment);
        // Where Hugging Face's independent reader (@huggingface/gguf) puts the data of this file, and its offsets.
        Assert.Equal(736, g.DataStart);
        Assert.Equal([0L, 64, 96, 128, 224], g.Tensors.Select(t => t.Offset - g.DataStart));

        Assert.Equal(["token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.0.ffn_up.weight"],
            g.Tensors.Select(t => t.Name));
        var emb = g.Get("token_embd.weight");
        Assert.Equal(DType.F32, emb.DType);
        Assert.Equal([3L, 4], emb.Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 0.5f - 1), g.ReadFloats(emb));
        Assert.Equal(DType.F16, g.Get("output_norm.weight").DType);
        Assert.Equal([1f, -2, 0.5f, 65504], g.ReadFloats("output_norm.weight"));
        Assert.Equal(DType.BF16, g.Get("blk.0.attn_q.weight").DType);
        Assert.Equal([1f, 2, -3, 0.25f], g.ReadFloats("blk.0.attn_q.weight"));

        var q8 = g.Get("blk.0.ffn_down.weight");
        Assert.Equal(DType.Q8_0, q8.DType);
        Assert.Equal([2L, 32], q8.Shape);
        Assert.Equal(68, q8.ByteLength);
        Assert.True(q8.DType.IsQuantized());
        Assert.True(q8.DType.IsReadableAsFloat());
        Assert.Equal(new float[64], g.ReadFloats(q8)); // all-zero blocks: d = 0
        var q4 = g.Get("blk.0.ffn_up.weight");
        Assert.Equal("Q4_K", q4.DType.Name());
        Assert.Equal(144, q4.ByteLength);
    }

    [Fact]
    public void CustomAlignmentIsHonoured()
    {
        using var dir = new Fixtures.TempDir();
        var b = new GgufBuilder { Alignment = 64 }.KvU32("general.alignment", 64);
        b.Tensor("a", 0, [3], F32(1, 2, 3)).Tensor("b", 0, [2], F32(4, 5));
        using var g = (GgufFile)CheckpointLoader.Open(Save(dir, b));
        Assert.Equal(64, g.Alignment);
        Assert.Equal(0, g.DataStart % 64);
        Assert.Equal(64, g.Get("b").Offset - g.Get("a").Offset);
        Assert.Equal([4f, 5], g.ReadFloats("b"));
    }

    [Fact]
    public void WrongMagic()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, new GgufBuilder { Magic = "GGML" }, "old.gguf")));
        Assert.Contains("old.gguf", e.Message);
        Assert.Contains("not a GGUF file", e.Message);
    }

    [Theory]
    [InlineData(1u, "version 1")]
    [InlineData(4u, "version 4")]
    public void UnsupportedVersion(uint version, string expected)
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, new GgufBuilder { Version = version })));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TruncatedAnywhereIsAClearError()
    {
        using var dir = new Fixtures.TempDir();
        var bytes = Sample().Build();
        // Every cut inside the header or the data is reported, never a crash.
        for (int keep = 0; keep < bytes.Length; keep += 7)
        {
            var path = dir.File("cut.gguf");
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
            Assert.Contains("cut.gguf", e.Message);
        }
    }

    [Fact]
    public void TensorPastTheEndNamesIt()
    {
        using var dir = new Fixtures.TempDir();
        var b = new GgufBuilder().Tensor("w", 0, [4], F32(1, 2, 3, 4));
        var bytes = b.Build();
        var path = dir.File("short.gguf");
        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("short.gguf", e.Message);
        Assert.Contains("`w`", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void MisalignedOffsetNamesTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var b = new GgufBuilder().Tensor("w", 0, [4], F32(1, 2, 3, 4), offset: 4);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, b)));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("alignment", e.Message);
    }

    [Fact]
    public void OverlappingTensorsAreNamed()
    {
        using var dir = new Fixtures.TempDir();
        var b = new GgufBuilder().Tensor("a", 0, [16], new byte[64], offset: 0).Tensor("b", 0, [4], new byte[16], offset: 32);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, b)));
        Assert.Contains("`a`", e.Message);
        Assert.Contains("`b`", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void UnknownGgmlTypeNamesTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, new GgufBuilder().Tensor("w", 99, [4], new byte[16]))));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("99", e.Message);
    }

    [Fact]
    public void TooManyDimensionsNamesTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, new GgufBuilder().Tensor("w", 0, [1, 1, 1, 1, 1], new byte[4]))));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("5 dimensions", e.Message);
    }

    [Fact]
    public void QuantizedRowsMustBeWholeBlocks()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Save(dir, new GgufBuilder().Tensor("w", 8, [30, 1], new byte[34]))));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("blocks", e.Message);
    }

    [Fact]
    public void AbsurdCountsAreRefusedBeforeAllocating()
    {
        using var dir = new Fixtures.TempDir();
        var bytes = new GgufBuilder().Build();
        BitConverter.GetBytes(ulong.MaxValue / 2).CopyTo(bytes, 8); // tensor count
        var path = dir.File("absurd.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("tensor count", e.Message);
    }
}
