using System.Buffers.Binary;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

/// <summary>
/// The test's own reading of ggml's block structs (ggml-common.h), element by element: for element e of a block,
/// where its bits are and what it is worth. Written from the struct definitions and ggml's dequantize_row_*,
/// sharing nothing with the product, which decodes sixteen quants at a time.
/// </summary>
static class ReferenceGgml
{
    public static readonly DType[] Types =
        [DType.Q8_0, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.Q8_K];

    static float H(ReadOnlySpan<byte> b, int at) => (float)BitConverter.ToHalf(b.Slice(at, 2));

    public static float[] Dequantize(DType t, ReadOnlySpan<byte> blocks)
    {
        var (n, size) = t.Block();
        var y = new float[blocks.Length / size * n];
        for (int i = 0; i < y.Length; i++) y[i] = Element(t, blocks.Slice(i / n * size, size), i % n);
        return y;
    }

    public static float Element(DType t, ReadOnlySpan<byte> b, int e)
    {
        switch (t)
        {
            case DType.Q8_0: // { f16 d; i8 qs[32] }
                return H(b, 0) * (sbyte)b[2 + e];
            case DType.Q4_0: // { f16 d; u8 qs[16] }: low nibbles are elements 0..15, high nibbles 16..31
                return (Nibble(b[2..], e) - 8) * H(b, 0);
            case DType.Q4_1: // { f16 d; f16 m; u8 qs[16] }
                return Nibble(b[4..], e) * H(b, 0) + H(b, 2);
            case DType.Q5_0: // { f16 d; u8 qh[4]; u8 qs[16] }
                return ((Nibble(b[6..], e) | Bit(BinaryPrimitives.ReadUInt32LittleEndian(b[2..]), e) << 4) - 16) * H(b, 0);
            case DType.Q5_1: // { f16 d; f16 m; u8 qh[4]; u8 qs[16] }
                return (Nibble(b[8..], e) | Bit(BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), e) << 4) * H(b, 0) + H(b, 2);
            case DType.Q8_K: // { f32 d; i8 qs[256]; i16 bsums[16] }
                return BinaryPrimitives.ReadSingleLittleEndian(b) * (sbyte)b[4 + e];
        }
        // K-quants: 256 elements; a 128-element half h, inside it a group g of 32, and l the place in the group.
        int h = e / 128, g = e % 128 / 32, l = e % 32;
        switch (t)
        {
            case DType.Q2_K: // { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }: 2 bits of qs[32h + l] at 2g
            {
                int sc = b[e / 16];
                float dl = H(b, 80) * (sc & 0xF), ml = H(b, 82) * (sc >> 4);
                return dl * ((b[16 + 32 * h + l] >> (2 * g)) & 3) - ml;
            }
            case DType.Q3_K: // { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: high bit from hmask[l], bit 4h + g
            {
                int low = (b[32 + 32 * h + l] >> (2 * g)) & 3;
                int high = (b[l] >> (4 * h + g)) & 1;
                float dl = H(b, 108) * (Q3Scale(b.Slice(96, 12), e / 16) - 32);
                return dl * (low - (high == 1 ? 0 : 4));
            }
            case DType.Q4_K: // { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: 64-element pairs of sub-blocks
            case DType.Q5_K: // { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }
            {
                int pair = e / 64, upper = e % 64 / 32;
                int qsAt = t == DType.Q4_K ? 16 : 48;
                int qb = b[qsAt + 32 * pair + l];
                int q = upper == 0 ? qb & 0xF : qb >> 4;
                if (t == DType.Q5_K) q += ((b[16 + l] >> (2 * pair + upper)) & 1) * 16;
                var (sc, m) = K4ScaleMin(b.Slice(4, 12), 2 * pair + upper);
                float d1 = H(b, 0) * sc, m1 = H(b, 2) * m;
                return d1 * q - m1;
            }
            case DType.Q6_K: // { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }
            {
                int lowByte = b[64 * h + 32 * (g & 1) + l];
                int low = g < 2 ? lowByte & 0xF : lowByte >> 4;
                int high = (b[128 + 32 * h + l] >> (2 * g)) & 3;
                int q = (low | high << 4) - 32;
                return H(b, 208) * (sbyte)b[192 + e / 16] * q;
            }
        }
        throw new ArgumentException(t.ToString());
    }

    static int Nibble(ReadOnlySpan<byte> qs, int e) => e < 16 ? qs[e] & 0xF : qs[e - 16] >> 4;
    static int Bit(uint word, int i) => (int)(word >> i) & 1;

    /// <summary>Q3_K's 6-bit scale i: its low 4 bits in byte i mod 8 (low nibble for i &lt; 8, high nibble after),
    /// its high 2 bits in byte 8 + i mod 4 at bit 2·(i div 4).</summary>
    static int Q3Scale(ReadOnlySpan<byte> s, int i)
    {
        int low = (s[i % 8] >> (i < 8 ? 0 : 4)) & 0xF;
        int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        return low | high << 4;
    }

    /// <summary>Q4_K/Q5_K: sub-block j's 6-bit scale and min (get_scale_min_k4).</summary>
    static (int, int) K4ScaleMin(ReadOnlySpan<byte> q, int j) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));
}

/// <summary>
/// A plain quantizer for the round trip: per sub-block, the smallest scale (and minimum) that covers its values
/// on the type's integer grid, rounded to nearest, then packed bit by bit into ggml's layout. Not ggml's
/// error-minimising search, but enough to bound every value's error by half a step of its sub-block.
/// </summary>
static class TestQuantizer
{
    /// <summary>Quantizes one block; <paramref name="bound"/> gets each element's allowed error.</summary>
    public static byte[] Block(DType t, float[] x, float[] bound)
    {
        var (n, size) = t.Block();
        var b = new byte[size];
        switch (t)
        {
            case DType.Q8_0: Symmetric(x, 127, -127, 127, b, 0, bound, (e, q) => b[2 + e] = (byte)(sbyte)q); break;
            case DType.Q4_0: Symmetric(x, 7, -8, 7, b, 0, bound, (e, q) => SetNibble(b, 2, e, q + 8)); break;
            case DType.Q5_0:
                Symmetric(x, 15, -16, 15, b, 0, bound, (e, q) =>
                {
                    SetNibble(b, 6, e, (q + 16) & 0xF);
                    if (((q + 16) & 16) != 0) b[2 + e / 8] |= (byte)(1 << (e % 8));
                });
                break;
            case DType.Q8_K:
            {
                float d = x.Max(Math.Abs) / 127;
                BinaryPrimitives.WriteSingleLittleEndian(b, d);
                for (int e = 0; e < n; e++)
                {
                    int q = d == 0 ? 0 : (int)Math.Round(x[e] / d);
                    b[4 + e] = (byte)(sbyte)q;
                    bound[e] = d / 2 * 1.0001f;
                    BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(260 + 2 * (e / 16)), (short)(BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(260 + 2 * (e / 16))) + q));
                }
                break;
            }
            case DType.Q4_1: Affine(x, 15, b, 0, 2, bound, (e, q) => SetNibble(b, 4, e, q)); break;
            case DType.Q5_1:
                Affine(x, 31, b, 0, 2, bound, (e, q) =>
                {
                    SetNibble(b, 8, e, q & 0xF);
                    if ((q & 16) != 0) b[4 + e / 8] |= (byte)(1 << (e % 8));
                });
                break;
            case DType.Q6_K:
                SuperSymmetric(x, 16, 31, -32, 31, 127, b, 208, bound, (s, sc) => b[192 + s] = (byte)(sbyte)sc, (e, q) =>
                {
                    int u = q + 32, h = e / 128, g = e % 128 / 32, l = e % 32;
                    int at = 64 * h + 32 * (g & 1) + l;
                    b[at] |= (byte)(g < 2 ? u & 0xF : (u & 0xF) << 4);
                    b[128 + 32 * h + l] |= (byte)((u >> 4) << (2 * g));
                });
                break;
            case DType.Q3_K:
            {
                var stored = new int[16];
                SuperSymmetric(x, 16, 3, -4, 3, 31, b, 108, bound, (s, sc) => stored[s] = sc + 32, (e, q) =>
                {
                    int u = q + 4, h = e / 128, g = e % 128 / 32, l = e % 32;
                    b[32 + 32 * h + l] |= (byte)((u & 3) << (2 * g));
                    b[l] |= (byte)((u >> 2) << (4 * h + g));
                });
                for (int i = 0; i < 16; i++)
                {
                    b[96 + i % 8] |= (byte)(i < 8 ? stored[i] & 0xF : (stored[i] & 0xF) << 4);
                    b[96 + 8 + i % 4] |= (byte)((stored[i] >> 4) << (2 * (i / 4)));
                }
                break;
            }
            case DType.Q2_K:
                SuperAffine(x, 16, 3, 15, b, 80, 82, bound, (s, sc, m) => b[s] = (byte)(sc | m << 4), (e, q) =>
                    b[16 + 32 * (e / 128) + e % 32] |= (byte)(q << (2 * (e % 128 / 32))));
                break;
            case DType.Q4_K:
            case DType.Q5_K:
            {
                int qs = t == DType.Q4_K ? 16 : 48;
                SuperAffine(x, 32, t == DType.Q4_K ? 15 : 31, 63, b, 0, 2, bound, (s, sc, m) => PackK4(b.AsSpan(4, 12), s, sc, m), (e, q) =>
                {
                    int pair = e / 64, upper = e % 64 / 32, l = e % 32;
                    b[qs + 32 * pair + l] |= (byte)((q & 0xF) << (4 * upper));
                    if (q >= 16) b[16 + l] |= (byte)(1 << (2 * pair + upper));
                });
                break;
            }
            default: throw new ArgumentException(t.ToString());
        }
        return b;
    }

    static void SetNibble(byte[] b, int at, int e, int u) => b[at + e % 16] |= (byte)(e < 16 ? u : u << 4);

    static float Fp16(byte[] b, int at, float v)
    {
        var h = (Half)v;
        BitConverter.TryWriteBytes(b.AsSpan(at), h);
        return (float)h;
    }

    /// <summary>x ≈ d·q with q in [lo, hi]: d from the largest magnitude, a hair above so fp16 rounding still covers it.</summary>
    static void Symmetric(float[] x, int reach, int lo, int hi, byte[] b, int dAt, float[] bound, Action<int, int> put)
    {
        float d = Fp16(b, dAt, x.Max(Math.Abs) / reach * 1.001f);
        for (int e = 0; e < x.Length; e++)
        {
            put(e, d == 0 ? 0 : Math.Clamp((int)Math.Round(x[e] / d), lo, hi));
            bound[e] = d / 2 * 1.0001f;
        }
    }

    /// <summary>x ≈ d·q + m with q in [0, top], m the minimum rounded down in fp16.</summary>
    static void Affine(float[] x, int top, byte[] b, int dAt, int mAt, float[] bound, Action<int, int> put)
    {
        float min = x.Min(), m = Fp16(b, mAt, min);
        if (m > min) m = Fp16(b, mAt, (float)BitConverter.Int16BitsToHalf((short)(BitConverter.HalfToInt16Bits((Half)m) + (m > 0 ? -1 : 1))));
        float d = Fp16(b, dAt, (x.Max() - m) / top * 1.001f);
        for (int e = 0; e < x.Length; e++)
        {
            put(e, d == 0 ? 0 : Math.Clamp((int)Math.Round((x[e] - m) / d), 0, top));
            bound[e] = d / 2 * 1.0001f + 1e-7f;
        }
    }

    /// <summary>K-quant without minimum: sub-block scale = d·sc (sc up to <paramref name="scaleTop"/>), quants in [lo, hi].</summary>
    static void SuperSymmetric(float[] x, int sub, int reach, int lo, int hi, int scaleTop, byte[] b, int dAt, float[] bound,
        Action<int, int> putScale, Action<int, int> put)
    {
        int subs = x.Length / sub;
        var need = Enumerable.Range(0, subs).Select(s => x.Skip(s * sub).Take(sub).Max(Math.Abs) / reach).ToArray();
        float d = Fp16(b, dAt, need.Max() / scaleTop * 1.001f);
        for (int s = 0; s < subs; s++)
        {
            int sc = d == 0 ? 0 : Math.Min(scaleTop, (int)Math.Ceiling(need[s] / d));
            putScale(s, sc);
            float step = d * sc;
            for (int e = s * sub; e < (s + 1) * sub; e++)
            {
                put(e, step == 0 ? 0 : Math.Clamp((int)Math.Round(x[e] / step), lo, hi));
                bound[e] = step / 2 * 1.0001f + 1e-7f;
            }
        }
    }

    /// <summary>K-quant with minimum: x ≈ d·sc·q − dmin·m, q in [0, top], sc and m up to <paramref name="scaleTop"/>.</summary>
    static void SuperAffine(float[] x, int sub, int top, int scaleTop, byte[] b, int dAt, int dminAt, float[] bound,
        Action<int, int, int> putScale, Action<int, int> put)
    {
        int subs = x.Length / sub;
        var lows = Enumerable.Range(0, subs).Select(s => -Math.Min(0, x.Skip(s * sub).Take(sub).Min())).ToArray();
        float dmin = Fp16(b, dminAt, lows.Max() / scaleTop * 1.001f);
        var ms = lows.Select(v => dmin == 0 ? 0 : Math.Min(scaleTop, (int)Math.Ceiling(v / dmin))).ToArray();
        var need = Enumerable.Range(0, subs).Select(s => (x.Skip(s * sub).Take(sub).Max() + dmin * ms[s]) / top).ToArray();
        float d = Fp16(b, dAt, need.Max() / scaleTop * 1.001f);
        for (int s = 0; s < subs; s++)
        {
            int sc = d == 0 ? 0 : Math.Min(scaleTop, (int)Math.Ceiling(need[s] / d));
            putScale(s, sc, ms[s]);
            float step = d * sc, offset = dmin * ms[s];
            for (int e = s * sub; e < (s + 1) * sub; e++)
            {
                put(e, step == 0 ? 0 : Math.Clamp((int)Math.Round((x[e] + offset) / step), 0, top));
                bound[e] = step / 2 * 1.0001f + 1e-6f;
            }
        }
    }

    /// <summary>Q4_K/Q5_K's 12 scale bytes: sub-blocks 0–3 in the low 6 bits of bytes j (scale) and j+4 (min);
    /// 4–7 as nibbles of byte j+4, their top 2 bits in the top of bytes j−4 (scale) and j (min).</summary>
    static void PackK4(Span<byte> q, int j, int sc, int m)
    {
        if (j < 4) { q[j] |= (byte)sc; q[j + 4] |= (byte)m; return; }
        q[j + 4] |= (byte)((sc & 0xF) | (m & 0xF) << 4);
        q[j - 4] |= (byte)((sc >> 4) << 6);
        q[j] |= (byte)((m >> 4) << 6);
    }
}

public class GgmlQuantizationTests
{
    public static TheoryData<DType> Types() => new(ReferenceGgml.Types);

    [Theory, MemberData(nameof(Types))]
    public void RandomBlocksDecodeBitForBitAsTheReference(DType t)
    {
        var rng = new Random(1234 + (int)t);
        var bytes = RandomGgmlBlocks.Make(t, 40, rng);
        var expected = ReferenceGgml.Dequantize(t, bytes);
        var actual = new float[expected.Length];
        GgmlQuantization.DequantizeBlocks(t, bytes, actual);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{t.Name()} element {i} (block {i / t.Block().Elements}, offset {i % t.Block().Elements}): expected {expected[i]:R}, got {actual[i]:R}");
        Assert.Contains(actual, v => v != 0);
    }

    [Theory, MemberData(nameof(Types))]
    public void RandomFloatsRoundTripWithinHalfAStep(DType t)
    {
        var rng = new Random(99 + (int)t);
        var (n, _) = t.Block();
        const int blocks = 24;
        var x = new float[blocks * n];
        var bound = new float[x.Length];
        var bytes = new List<byte>();
        for (int blk = 0; blk < blocks; blk++)
        {
            // Blocks of different magnitudes; some all-positive, to exercise the minimums of the affine types.
            double scale = Math.Pow(10, rng.Next(-3, 2)), shift = blk % 3 == 0 ? 2 * scale : 0;
            for (int i = 0; i < n; i++) x[blk * n + i] = (float)(Gaussian(rng) * scale + shift);
            var blockBound = new float[n];
            bytes.AddRange(TestQuantizer.Block(t, x[(blk * n)..((blk + 1) * n)], blockBound));
            blockBound.CopyTo(bound, blk * n);
        }
        var y = new float[x.Length];
        GgmlQuantization.DequantizeBlocks(t, bytes.ToArray(), y);
        double errSq = 0, xSq = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float err = Math.Abs(y[i] - x[i]);
            Assert.True(err <= bound[i], $"{t.Name()} element {i}: {x[i]:G9} came back {y[i]:G9}, error {err:G3} over {bound[i]:G3}");
            errSq += (double)err * err;
            xSq += (double)x[i] * x[i];
        }
        // And the type's overall precision: relative RMS error of its bit width (a uniform error of half a step
        // has RMS step/√12, the step being about the block's range over 2^bits).
        double limit = t switch
        {
            DType.Q8_0 or DType.Q8_K => 0.01, DType.Q6_K => 0.04, DType.Q5_0 or DType.Q5_1 or DType.Q5_K => 0.08,
            DType.Q4_0 or DType.Q4_1 or DType.Q4_K => 0.15, DType.Q3_K => 0.3, _ => 0.6,
        };
        Assert.InRange(Math.Sqrt(errSq / xSq), 0, limit);
    }

    [Fact]
    public void EveryFp16ScaleWidensExactly()
    {
        // 65,536 Q8_0 blocks, block i with d = the half whose bits are i and quants 1, −1, 0, …: subnormals,
        // zeros of both signs, infinities and NaNs included.
        var bytes = new byte[65536 * 34];
        for (int i = 0; i < 65536; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 34), (ushort)i);
            bytes[i * 34 + 2] = 1;
            bytes[i * 34 + 3] = 0xFF;
        }
        var y = new float[65536 * 32];
        GgmlQuantization.DequantizeBlocks(DType.Q8_0, bytes, y);
        for (int i = 0; i < 65536; i++)
        {
            float d = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            Assert.True(d.Equals(y[i * 32]) && (-d).Equals(y[i * 32 + 1]) && (d * 0).Equals(y[i * 32 + 2]), $"half bits 0x{i:X4}: {d:R} became {y[i * 32]:R}, {y[i * 32 + 1]:R}, {y[i * 32 + 2]:R}");
        }
    }

    [Fact]
    public void WrongSizesAndUnsupportedTypesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeBlocks(DType.Q8_0, new byte[34], new float[31]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeBlocks(DType.Q8_0, new byte[35], new float[32]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeBlocks(DType.IQ2_XXS, new byte[66], new float[256]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeBlocks(DType.F32, new byte[4], new float[1]));
        Assert.False(GgmlQuantization.IsSupported(DType.IQ4_NL));
        Assert.False(DType.TQ1_0.IsReadableAsFloat());
        Assert.True(DType.Q5_K.IsReadableAsFloat());
    }

    [Fact]
    public void UnsupportedTypeInAGgufNamesTheTypeAndTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var b = new GgufBuilder()
            .Tensor("blk.0.attn_q.weight", 16, [256, 1], new byte[66])   // IQ2_XXS: one 66-byte super-block
            .Tensor("blk.0.attn_k.weight", 8, [32, 1], new byte[34]);    // Q8_0 beside it still reads
        var path = dir.File("model.gguf");
        File.WriteAllBytes(path, b.Build());
        using var g = CheckpointLoader.Open(path);
        var t = g.Get("blk.0.attn_q.weight");
        Assert.Equal(DType.IQ2_XXS, t.DType);
        Assert.False(t.DType.IsReadableAsFloat());
        var e = Assert.Throws<CheckpointException>(() => g.ReadFloats(t));
        Assert.StartsWith("model.gguf: tensor `blk.0.attn_q.weight` has type IQ2_XXS, which ModelVis cannot dequantize (supported: ", e.Message);
        foreach (var supported in new[] { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" })
            Assert.Contains(supported, e.Message);
        Assert.Equal(new float[32], g.ReadFloats("blk.0.attn_k.weight"));
    }

    static string Gguf(string file) => Path.Combine(Fixtures.Model("gguf"), file);

    [Fact]
    public void EveryFixtureTensorDequantizesAsTheReferenceDoes()
    {
        var seen = new HashSet<DType>();
        foreach (var path in Directory.GetFiles(Fixtures.Model("gguf"), "*.gguf"))
        {
            using var g = CheckpointLoader.Open(path);
            foreach (var t in g.Tensors)
            {
                var values = g.ReadFloats(t);
                Assert.All(values, v => Assert.True(float.IsFinite(v), $"{Path.GetFileName(path)} {t.Name}"));
                if (!t.DType.IsQuantized()) continue;
                seen.Add(t.DType);
                var raw = new byte[t.ByteLength];
                g.ReadBytes(t, 0, raw);
                var expected = ReferenceGgml.Dequantize(t.DType, raw);
                Assert.True(expected.AsSpan().SequenceEqual(values), $"{Path.GetFileName(path)} {t.Name} ({t.DType.Name()}) differs from the reference");
            }
        }
        Assert.Superset(new HashSet<DType> { DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K }, seen);
    }

    /// <summary>
    /// The stories260K Q8_0 and Q4_0 files are the F32 file quantized by llama.cpp's rules: each value within
    /// its block's error. Q8_0: d = amax/127, rounding to nearest, error ≤ d/2 plus d's fp16 rounding (≤ 127·d·2⁻¹¹).
    /// Q4_0: d = ∓amax/8, q clamped to 15, so the one value at −max is off by a whole step: error ≤ |d|.
    /// </summary>
    [Theory]
    [InlineData("stories260K-q8_0.gguf")]
    [InlineData("stories260K-q4_0.gguf")]
    public void StoriesQuantizedFileMatchesTheF32FileWithinQuantizationError(string file)
    {
        using var f32 = CheckpointLoader.Open(Gguf("stories260K-f32.gguf"));
        using var q = CheckpointLoader.Open(Gguf(file));
        int quantized = 0;
        foreach (var t in q.Tensors)
        {
            var x = f32.ReadFloats(t.Name);
            var y = q.ReadFloats(t);
            Assert.Equal(x.Length, y.Length);
            if (!t.DType.IsQuantized())
            {
                // F16 (ffn_down) or F32 (norms): fp16 rounding, relative 2⁻¹¹, absolute 2⁻²⁵ among subnormals.
                for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= Math.Abs(x[i]) * 1e-3f + 3e-8f, $"{t.Name}[{i}]: {x[i]:G7} vs {y[i]:G7}");
                continue;
            }
            quantized++;
            for (int blk = 0; blk < x.Length / 32; blk++)
            {
                float amax = 0;
                for (int i = 0; i < 32; i++) amax = Math.Max(amax, Math.Abs(x[blk * 32 + i]));
                float bound = t.DType switch
                {
                    DType.Q8_0 => amax / 127 * 0.57f,
                    DType.Q4_0 => amax / 8 * 1.01f,
                    _ => throw new InvalidOperationException($"{t.Name}: unexpected {t.DType.Name()}"),
                } + 1e-7f;
                for (int i = blk * 32; i < blk * 32 + 32; i++)
                    Assert.True(Math.Abs(x[i] - y[i]) <= bound, $"{file} {t.Name}[{i}]: F32 {x[i]:G7}, {t.DType.Name()} {y[i]:G7}, bound {bound:G3}");
            }
        }
        Assert.Contains(q.Tensors, t => t.Name == "token_embd.weight" && t.DType.IsQuantized());
        Assert.True(quantized >= 20, $"{quantized} quantized tensors");
    }

    /// <summary>
    /// The synthetic Llama as Q8_0, Q6_K and Q4_K: the same weights three ways. Against Q8_0 (step amax/127 over
    /// 32 values), the relative RMS difference is about a uniform error's step/√12 over the weights' RMS: Q6_K
    /// (step ≈ amax/32 over 16 values) about 0.02, Q4_K (step ≈ range/15 over 32 values) about 0.08. A misread
    /// bit, scale or minimum anywhere gives differences of the order of the weights themselves.
    /// </summary>
    [Theory]
    [InlineData("synth-llama-q6_k.gguf", DType.Q6_K, 0.035)]
    [InlineData("synth-llama-q4_k.gguf", DType.Q4_K, 0.12)]
    public void SynthLlamaKQuantsAgreeWithQ8_0(string file, DType type, double limit)
    {
        using var q8 = CheckpointLoader.Open(Gguf("synth-llama-q8_0.gguf"));
        using var k = CheckpointLoader.Open(Gguf(file));
        int compared = 0;
        foreach (var t in k.Tensors)
        {
            var reference = q8.Get(t.Name);
            Assert.Equal(reference.Shape, t.Shape);
            if (t.DType != type) continue;
            Assert.Equal(DType.Q8_0, reference.DType);
            var x = q8.ReadFloats(reference);
            var y = k.ReadFloats(t);
            double diff = 0, norm = 0;
            for (int i = 0; i < x.Length; i++) { diff += Math.Pow(x[i] - y[i], 2); norm += (double)x[i] * x[i]; }
            double relative = Math.Sqrt(diff / norm);
            Assert.True(relative < limit, $"{t.Name}: {type.Name()} vs Q8_0 relative RMS difference {relative:G3} over {limit}");
            compared++;
        }
        Assert.True(compared >= 20, $"{compared} {type.Name()} tensors compared");
    }

    [Fact]
    public void AnyElementRangeReadsTheSameValuesAsTheWholeTensor()
    {
        using var g = CheckpointLoader.Open(Gguf("synth-llama-q4_k.gguf"));
        var t = g.Tensors.Where(t => t.DType == DType.Q4_K).MaxBy(t => t.ElementCount)!;
        Assert.True(t.ElementCount > 1 << 17, "the tensor spans several read chunks");
        var whole = g.ReadFloats(t);
        var rng = new Random(5);
        var ranges = new List<(long Start, int Length)> { (0, 0), (0, 1), (255, 2), (256, 256), (100, whole.Length - 200), (whole.Length - 1, 1), (whole.Length - 300, 300) };
        for (int i = 0; i < 20; i++)
        {
            long start = rng.NextInt64(whole.Length);
            ranges.Add((start, rng.Next((int)Math.Min(5000, whole.Length - start) + 1)));
        }
        foreach (var (start, length) in ranges)
        {
            var part = new float[length];
            g.ReadFloats(t, start, part);
            Assert.True(whole.AsSpan((int)start, length).SequenceEqual(part), $"elements {start}..{start + length}");
        }
    }

    static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
