using ILGPU;

namespace ModelVis.Gpu.Kernels;

/// <summary>
/// Element k of a weight row kept in its stored bytes, read inside a kernel. <paramref name="row"/> is the byte offset
/// of the row's start; rows of block types are whole blocks, so element k lives in block k / block size of that row.
/// One struct per storage type; the product kernel is specialised for each when it is compiled.
/// </summary>
public interface IStoredRows
{
    float At(ArrayView<byte> w, long row, int k);
}

/// <summary>Little-endian reads and float16 widening shared by the row readers.</summary>
static class Bytes
{
    public static uint U16(ArrayView<byte> w, long at) => (uint)(w[at] | (w[at + 1] << 8));

    public static uint U32(ArrayView<byte> w, long at) => U16(w, at) | (U16(w, at + 2) << 16);

    public static float F32(ArrayView<byte> w, long at) => Interop.IntAsFloat(U32(w, at));

    /// <summary>IEEE binary16 → binary32, subnormals and infinities included.</summary>
    public static float F16(ArrayView<byte> w, long at)
    {
        uint h = U16(w, at);
        uint sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
        if (exponent == 0)
        {
            float v = mantissa * (1f / 16777216f); // 2⁻²⁴: the subnormal step
            return sign != 0 ? -v : v;
        }
        if (exponent == 31) return Interop.IntAsFloat(sign | 0x7F800000u | (mantissa << 13));
        return Interop.IntAsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /// <summary>6-bit scale and min number <paramref name="j"/> of the 8 packed into 12 bytes at <paramref name="at"/> (Q4_K, Q5_K).</summary>
    public static (int Scale, int Min) ScaleMinK4(ArrayView<byte> w, long at, int j)
    {
        if (j < 4) return (w[at + j] & 63, w[at + j + 4] & 63);
        return ((w[at + j + 4] & 0xF) | ((w[at + j - 4] >> 6) << 4), (w[at + j + 4] >> 4) | ((w[at + j] >> 6) << 4));
    }
}

public struct F32Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k) => Bytes.F32(w, row + 4L * k);
}

public struct F16Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k) => Bytes.F16(w, row + 2L * k);
}

/// <summary>bfloat16: the high half of a float32.</summary>
public struct BF16Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k) => Interop.IntAsFloat(Bytes.U16(w, row + 2L * k) << 16);
}

/// <summary>Q8_0: blocks of 32 — f16 scale d, 32 int8 q; x = d·q.</summary>
public struct Q8_0Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 34L * (k >> 5);
        return Bytes.F16(w, block) * (sbyte)w[block + 2 + (k & 31)];
    }
}

/// <summary>Q4_0: blocks of 32 — f16 d, 16 bytes of nibbles (element j &lt; 16 low nibble of byte j, else high nibble of byte j − 16); x = d·(q − 8).</summary>
public struct Q4_0Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 18L * (k >> 5);
        int j = k & 31, q = w[block + 2 + (j & 15)];
        return Bytes.F16(w, block) * (((j < 16 ? q : q >> 4) & 0xF) - 8);
    }
}

/// <summary>Q4_1: blocks of 32 — f16 d, f16 m, nibbles as Q4_0; x = d·q + m.</summary>
public struct Q4_1Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 20L * (k >> 5);
        int j = k & 31, q = w[block + 4 + (j & 15)];
        return Bytes.F16(w, block) * ((j < 16 ? q : q >> 4) & 0xF) + Bytes.F16(w, block + 2);
    }
}

/// <summary>Q5_0: blocks of 32 — f16 d, 32 fifth bits (u32), nibbles as Q4_0; x = d·((q | bit·16) − 16).</summary>
public struct Q5_0Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 22L * (k >> 5);
        int j = k & 31, q = w[block + 6 + (j & 15)];
        int fifth = (int)((Bytes.U32(w, block + 2) >> j) & 1);
        return Bytes.F16(w, block) * ((((j < 16 ? q : q >> 4) & 0xF) | (fifth << 4)) - 16);
    }
}

/// <summary>Q5_1: blocks of 32 — f16 d, f16 m, fifth bits, nibbles; x = d·(q | bit·16) + m.</summary>
public struct Q5_1Rows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 24L * (k >> 5);
        int j = k & 31, q = w[block + 8 + (j & 15)];
        int fifth = (int)((Bytes.U32(w, block + 4) >> j) & 1);
        return Bytes.F16(w, block) * (((j < 16 ? q : q >> 4) & 0xF) | (fifth << 4)) + Bytes.F16(w, block + 2);
    }
}

/// <summary>Q8_K: blocks of 256 — f32 d, 256 int8 q, 16 int16 sums (unused here); x = d·q.</summary>
public struct Q8_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 292L * (k >> 8);
        return Bytes.F32(w, block) * (sbyte)w[block + 4 + (k & 255)];
    }
}

/// <summary>
/// Q4_K: blocks of 256 in 8 groups of 32 — f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles
/// (each 64 elements share 32 bytes: low nibbles first, then high); x = d·scale·q − dmin·min.
/// </summary>
public struct Q4_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 144L * (k >> 8);
        int e = k & 255, chunk = e >> 6, high = (e >> 5) & 1;
        var (scale, min) = Bytes.ScaleMinK4(w, block + 4, 2 * chunk + high);
        int q = w[block + 16 + chunk * 32 + (e & 31)];
        return Bytes.F16(w, block) * scale * (high == 0 ? q & 0xF : q >> 4) - Bytes.F16(w, block + 2) * min;
    }
}

/// <summary>Q5_K: Q4_K with a fifth bit per element — f16 d, f16 dmin, 12 bytes of scales, 32 bytes of fifth bits, 128 bytes of nibbles.</summary>
public struct Q5_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 176L * (k >> 8);
        int e = k & 255, chunk = e >> 6, high = (e >> 5) & 1, l = e & 31;
        var (scale, min) = Bytes.ScaleMinK4(w, block + 4, 2 * chunk + high);
        int q = w[block + 48 + chunk * 32 + l];
        int fifth = (w[block + 16 + l] >> (2 * chunk + high)) & 1;
        return Bytes.F16(w, block) * scale * ((high == 0 ? q & 0xF : q >> 4) + 16 * fifth) - Bytes.F16(w, block + 2) * min;
    }
}

/// <summary>
/// Q6_K: blocks of 256 in two halves of 128 — 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, f16 d.
/// In a half, quarter t (32 elements) takes low nibbles from byte l (+32 for odd t; high nibble for t ≥ 2) and bits 2t..2t+1
/// of byte l of the highs; x = d·scale·(q − 32) with scale number l / 16 + 2t of that half.
/// </summary>
public struct Q6_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 210L * (k >> 8);
        int e = k & 255, half = e >> 7, quarter = (e >> 5) & 3, l = e & 31;
        int low = w[block + 64 * half + l + 32 * (quarter & 1)];
        low = quarter < 2 ? low & 0xF : low >> 4;
        int high = (w[block + 128 + 32 * half + l] >> (2 * quarter)) & 3;
        int scale = (sbyte)w[block + 192 + 8 * half + l / 16 + 2 * quarter];
        return Bytes.F16(w, block + 208) * scale * ((low | (high << 4)) - 32);
    }
}

/// <summary>
/// Q2_K: blocks of 256 — 16 bytes of 4-bit scale/min pairs, 64 bytes of 2-bit quants, f16 d, f16 dmin. In each half of
/// 128, quants sit in 32 bytes at bits 2j..2j+1 for the j-th run of 32; each run of 16 has its own pair (number 8·half + 2j + sub);
/// x = d·scale·q − dmin·min.
/// </summary>
public struct Q2_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 84L * (k >> 8);
        int e = k & 255, half = e >> 7, j = (e >> 5) & 3, sub = (e >> 4) & 1, l = e & 15;
        int pair = w[block + 8 * half + 2 * j + sub];
        int q = (w[block + 16 + 32 * half + 16 * sub + l] >> (2 * j)) & 3;
        return Bytes.F16(w, block + 80) * (pair & 0xF) * q - Bytes.F16(w, block + 82) * (pair >> 4);
    }
}

/// <summary>
/// Q3_K: blocks of 256 — 32 bytes of high-bit masks, 64 bytes of 2-bit quants (laid out as Q2_K), 12 bytes holding sixteen
/// 6-bit scales (stored + 32), f16 d. A quant is its 2 low bits minus 4 when its mask bit (4·half + j of byte l) is clear;
/// x = d·(scale − 32)·q.
/// </summary>
public struct Q3_KRows : IStoredRows
{
    public float At(ArrayView<byte> w, long row, int k)
    {
        long block = row + 110L * (k >> 8);
        int e = k & 255, half = e >> 7, j = (e >> 5) & 3, sub = (e >> 4) & 1, l = 16 * sub + (e & 15);
        int q = (w[block + 32 + 32 * half + l] >> (2 * j)) & 3;
        int mask = (w[block + l] >> (4 * half + j)) & 1;
        // Scale i: low 4 bits from byte (i / 4 odd ? 4 : 0) + i % 4 (high nibble for i ≥ 8), 2 high bits from byte 8 + i % 4.
        int i = 8 * half + 2 * j + sub, word = i >> 2, b = i & 3;
        int lowByte = w[block + 96 + (word & 1) * 4 + b];
        int scale = ((word < 2 ? lowByte & 0xF : lowByte >> 4) | (((w[block + 104 + b] >> (2 * word)) & 3) << 4)) - 32;
        return Bytes.F16(w, block + 108) * scale * (q - (mask == 0 ? 4 : 0));
    }
}
