using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelVis.Checkpoints;

/// <summary>
/// Dequantization of ggml's block formats (<c>ggml-common.h</c>) to float32, value for value as ggml's
/// <c>dequantize_row_*</c> writes them: the same products in the same order, multiply and add never fused.
/// (A C compiler may fuse ggml's <c>d·q − m</c>; values then differ in the last bit at most.)
/// </summary>
/// <remarks>
/// Each format is decoded sixteen quants at a time: the bit fiddling (nibbles, high bits, sign offsets) is done
/// on a <see cref="Vector128{T}"/> of bytes, which every x64 and Arm64 CPU accelerates, and <see cref="Emit"/>
/// widens those sixteen small unsigned integers to floats with the widest unit the CPU has (AVX-512, AVX2, or
/// 128-bit vectors; element by element where none is accelerated, correct but about 20× slower). Every quant is written as an unsigned
/// integer <c>u</c> and one of two forms: <c>(u − offset) · scale</c> (symmetric formats: Q8_0, Q4_0, Q5_0,
/// Q3_K, Q6_K, Q8_K) or <c>u · scale + bias</c> (formats with a minimum: Q4_1, Q5_1, Q2_K, Q4_K, Q5_K).
/// This runs in the weight-packing step of every matrix multiply, so it is written for throughput.
/// </remarks>
public static class GgmlQuantization
{
    /// <summary>Whether <see cref="DequantizeBlocks"/> decodes this type.</summary>
    public static bool IsSupported(DType t) => t is DType.Q8_0 or DType.Q4_0 or DType.Q4_1 or DType.Q5_0 or DType.Q5_1
        or DType.Q2_K or DType.Q3_K or DType.Q4_K or DType.Q5_K or DType.Q6_K or DType.Q8_K;

    /// <summary>
    /// Decodes whole blocks of <paramref name="type"/> into float32: <paramref name="destination"/> must hold
    /// exactly (blocks × elements per block) values (<see cref="DTypes.Block"/>).
    /// </summary>
    public static void DequantizeBlocks(DType type, ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        if (!IsSupported(type)) throw new ArgumentException($"{type.Name()} is not a block type ModelVis dequantizes", nameof(type));
        var (elements, bytes) = type.Block();
        if (blocks.Length % bytes != 0)
            throw new ArgumentException($"{blocks.Length} bytes are not whole {type.Name()} blocks of {bytes} bytes", nameof(blocks));
        int count = blocks.Length / bytes;
        if (destination.Length != (long)count * elements)
            throw new ArgumentException($"{count} {type.Name()} blocks hold {(long)count * elements} values, not {destination.Length}", nameof(destination));

        switch (type)
        {
            case DType.Q8_0: Decode<Q8_0Block>(blocks, destination, count, bytes, elements); break;
            case DType.Q4_0: Decode<Q4_0Block>(blocks, destination, count, bytes, elements); break;
            case DType.Q4_1: Decode<Q4_1Block>(blocks, destination, count, bytes, elements); break;
            case DType.Q5_0: Decode<Q5_0Block>(blocks, destination, count, bytes, elements); break;
            case DType.Q5_1: Decode<Q5_1Block>(blocks, destination, count, bytes, elements); break;
            case DType.Q2_K: Decode<Q2_KBlock>(blocks, destination, count, bytes, elements); break;
            case DType.Q3_K: Decode<Q3_KBlock>(blocks, destination, count, bytes, elements); break;
            case DType.Q4_K: Decode<Q4_KBlock>(blocks, destination, count, bytes, elements); break;
            case DType.Q5_K: Decode<Q5_KBlock>(blocks, destination, count, bytes, elements); break;
            case DType.Q6_K: Decode<Q6_KBlock>(blocks, destination, count, bytes, elements); break;
            case DType.Q8_K: Decode<Q8_KBlock>(blocks, destination, count, bytes, elements); break;
        }
    }

    /// <summary>One block format: decodes the block at <c>b</c> into its elements at <c>y</c>.</summary>
    interface IBlockFormat
    {
        static abstract void Decode(ref byte b, ref float y);
    }

    // Generic over the format (a struct), so the JIT compiles one loop per format with the block decoder inlined:
    // no per-block dispatch.
    static void Decode<T>(ReadOnlySpan<byte> blocks, Span<float> destination, int count, int bytes, int elements) where T : struct, IBlockFormat
    {
        ref byte x = ref MemoryMarshal.GetReference(blocks);
        ref float y = ref MemoryMarshal.GetReference(destination);
        for (int i = 0; i < count; i++)
            T.Decode(ref Unsafe.Add(ref x, (nint)i * bytes), ref Unsafe.Add(ref y, (nint)i * elements));
    }

    // ---- 32-element blocks -------------------------------------------------------------------------------

    // block_q8_0 { f16 d; i8 qs[32]; }: x = d·q. Flipping the sign bit makes q unsigned (u = q + 128).
    readonly struct Q8_0Block : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0);
            var signBit = Vector128.Create((byte)0x80);
            Emit(Load(ref b, 2) ^ signBit, 128, d, ref y);
            Emit(Load(ref b, 18) ^ signBit, 128, d, ref Unsafe.Add(ref y, 16));
        }
    }

    // block_q4_0 { f16 d; u8 qs[16]; }: element j is the low nibble of qs[j], element j+16 its high nibble; x = d·(q − 8).
    readonly struct Q4_0Block : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0);
            var q = Load(ref b, 2);
            Emit(q & LowNibble, 8, d, ref y);
            Emit(q >>> 4, 8, d, ref Unsafe.Add(ref y, 16));
        }
    }

    // block_q4_1 { f16 d; f16 m; u8 qs[16]; }: nibbles as Q4_0; x = d·q + m.
    readonly struct Q4_1Block : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0), m = Half(ref b, 2);
            var q = Load(ref b, 4);
            EmitAffine(q & LowNibble, d, m, ref y);
            EmitAffine(q >>> 4, d, m, ref Unsafe.Add(ref y, 16));
        }
    }

    // block_q5_0 { f16 d; u8 qh[4]; u8 qs[16]; }: nibbles as Q4_0, and bit i of the little-endian qh is the fifth
    // bit of element i; x = d·(q − 16).
    readonly struct Q5_0Block : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0);
            var qh = Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 2))).AsByte();
            var q = Load(ref b, 6);
            Emit((q & LowNibble) | FifthBits(qh, 0), 16, d, ref y);
            Emit((q >>> 4) | FifthBits(qh, 2), 16, d, ref Unsafe.Add(ref y, 16));
        }
    }

    // block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16]; }: quants as Q5_0; x = d·q + m.
    readonly struct Q5_1Block : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0), m = Half(ref b, 2);
            var qh = Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 4))).AsByte();
            var q = Load(ref b, 8);
            EmitAffine((q & LowNibble) | FifthBits(qh, 0), d, m, ref y);
            EmitAffine((q >>> 4) | FifthBits(qh, 2), d, m, ref Unsafe.Add(ref y, 16));
        }
    }

    /// <summary>Sixteen bits of the Q5 qh word (its bytes <paramref name="first"/> and first+1, in the low bytes of
    /// <paramref name="qh"/>) spread to sixteen bytes: 0x10 where the bit is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> FifthBits(Vector128<byte> qh, byte first)
    {
        var spread = Vector128.Shuffle(qh, Vector128.Create(first, first, first, first, first, first, first, first,
            (byte)(first + 1), (byte)(first + 1), (byte)(first + 1), (byte)(first + 1), (byte)(first + 1), (byte)(first + 1), (byte)(first + 1), (byte)(first + 1)));
        var lane = Vector128.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        return Vector128.Equals(spread & lane, lane) & Vector128.Create((byte)0x10);
    }

    // ---- 256-element super-blocks (K-quants) ---------------------------------------------------------------

    // block_q2_K { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin; }: sixteen sub-blocks of 16, each with a 4-bit scale
    // (low nibble) and 4-bit minimum (high nibble); x = d·sc·q − dmin·m. Each 128-element half reads qs[32]
    // four times, taking 2 bits at shifts 0, 2, 4, 6; within a shift, qs[0..15] and qs[16..31] are two sub-blocks.
    readonly struct Q2_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 80), dmin = Half(ref b, 82);
            var three = Vector128.Create((byte)3);
            int sub = 0;
            for (int half = 0; half < 2; half++)
            {
                var q0 = Load(ref b, 16 + 32 * half);
                var q1 = Load(ref b, 32 + 32 * half);
                for (int shift = 0; shift < 8; shift += 2, sub += 2)
                {
                    Q2_KSub((q0 >>> shift) & three, Unsafe.Add(ref b, sub), d, dmin, ref Unsafe.Add(ref y, 16 * sub));
                    Q2_KSub((q1 >>> shift) & three, Unsafe.Add(ref b, sub + 1), d, dmin, ref Unsafe.Add(ref y, 16 * sub + 16));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Q2_KSub(Vector128<byte> q, byte sc, float d, float dmin, ref float y) =>
        EmitAffine(q, d * (sc & 0xF), -(dmin * (sc >> 4)), ref y);

    // block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d; }: sixteen sub-blocks of 16 with 6-bit scales
    // (stored minus 32). A quant is 2 low bits from qs (laid out as Q2_K) and a high bit from hmask (bit k of
    // hmask[l] for the k-th group of 32); a set high bit means q, a clear one q − 4. Written as u = q | 4·bit,
    // x = d·(sc − 32)·(u − 4).
    readonly struct Q3_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 108);
            var scales = Q3_KScales(ref Unsafe.Add(ref b, 96));
            var h0 = Load(ref b, 0);
            var h1 = Load(ref b, 16);
            var three = Vector128.Create((byte)3);
            var one = Vector128.Create((byte)1);
            int sub = 0, group = 0;
            for (int half = 0; half < 2; half++)
            {
                var q0 = Load(ref b, 32 + 32 * half);
                var q1 = Load(ref b, 48 + 32 * half);
                for (int shift = 0; shift < 8; shift += 2, group++)
                {
                    Emit(((q0 >>> shift) & three) | (((h0 >>> group) & one) << 2), 4, d * (scales.GetElement(sub) - 32), ref Unsafe.Add(ref y, 16 * sub));
                    sub++;
                    Emit(((q1 >>> shift) & three) | (((h1 >>> group) & one) << 2), 4, d * (scales.GetElement(sub) - 32), ref Unsafe.Add(ref y, 16 * sub));
                    sub++;
                }
            }
        }
    }

    /// <summary>Q3_K's sixteen 6-bit scales, unpacked four at a time in 32-bit words: the low 4 bits come from
    /// bytes 0–7 (low nibbles for scales 0–7, high nibbles for 8–15), the high 2 bits from bytes 8–11, where
    /// byte 8+k holds those of scales k, k+4, k+8, k+12 at bits 0, 2, 4, 6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<sbyte> Q3_KScales(ref byte s)
    {
        const uint low4 = 0x0F0F0F0F, low2 = 0x03030303;
        uint a = Unsafe.ReadUnaligned<uint>(ref s), b = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref s, 4));
        uint high = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref s, 8));
        return Vector128.Create(
            (a & low4) | (high & low2) << 4, (b & low4) | (high >> 2 & low2) << 4,
            (a >> 4 & low4) | (high >> 4 & low2) << 4, (b >> 4 & low4) | (high >> 6 & low2) << 4).AsSByte();
    }

    // block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128]; }: eight sub-blocks of 32 with 6-bit scales and
    // minimums (ScaleMinK4); x = d·sc·q − dmin·m. Each 32 bytes of qs hold two sub-blocks: low nibbles, then high.
    readonly struct Q4_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0), dmin = Half(ref b, 2);
            ref byte scales = ref Unsafe.Add(ref b, 4);
            for (int pair = 0; pair < 4; pair++)
            {
                var (sc1, m1) = ScaleMinK4(2 * pair, ref scales);
                var (sc2, m2) = ScaleMinK4(2 * pair + 1, ref scales);
                float d1 = d * sc1, min1 = -(dmin * m1), d2 = d * sc2, min2 = -(dmin * m2);
                ref float o = ref Unsafe.Add(ref y, 64 * pair);
                for (int i = 0; i < 2; i++)
                {
                    var q = Load(ref b, 16 + 32 * pair + 16 * i);
                    EmitAffine(q & LowNibble, d1, min1, ref Unsafe.Add(ref o, 16 * i));
                    EmitAffine(q >>> 4, d2, min2, ref Unsafe.Add(ref o, 32 + 16 * i));
                }
            }
        }
    }

    // block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }: as Q4_K, plus a fifth bit per quant
    // from qh: bit 2·pair of qh[l] for the low-nibble sub-block, bit 2·pair+1 for the high-nibble one.
    readonly struct Q5_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 0), dmin = Half(ref b, 2);
            ref byte scales = ref Unsafe.Add(ref b, 4);
            var one = Vector128.Create((byte)1);
            for (int pair = 0; pair < 4; pair++)
            {
                var (sc1, m1) = ScaleMinK4(2 * pair, ref scales);
                var (sc2, m2) = ScaleMinK4(2 * pair + 1, ref scales);
                float d1 = d * sc1, min1 = -(dmin * m1), d2 = d * sc2, min2 = -(dmin * m2);
                ref float o = ref Unsafe.Add(ref y, 64 * pair);
                for (int i = 0; i < 2; i++)
                {
                    var q = Load(ref b, 48 + 32 * pair + 16 * i);
                    var h = Load(ref b, 16 + 16 * i);
                    EmitAffine((q & LowNibble) | (((h >>> (2 * pair)) & one) << 4), d1, min1, ref Unsafe.Add(ref o, 16 * i));
                    EmitAffine((q >>> 4) | (((h >>> (2 * pair + 1)) & one) << 4), d2, min2, ref Unsafe.Add(ref o, 32 + 16 * i));
                }
            }
        }
    }

    /// <summary>ggml's get_scale_min_k4: sub-block j's 6-bit scale and minimum from Q4_K/Q5_K's 12 scale bytes.
    /// Sub-blocks 0–3 keep theirs in the low 6 bits of bytes j and j+4; 4–7 have 4 bits in a nibble of byte j+4
    /// and their top 2 bits in the spare top bits of bytes j−4 (scale) and j (minimum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (int Scale, int Min) ScaleMinK4(int j, ref byte scales)
    {
        var q = MemoryMarshal.CreateReadOnlySpan(ref scales, 12);
        return j < 4
            ? (q[j] & 63, q[j + 4] & 63)
            : ((q[j + 4] & 0xF) | (q[j - 4] >> 6) << 4, (q[j + 4] >> 4) | (q[j] >> 6) << 4);
    }

    // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }: sixteen sub-blocks of 16 with signed 8-bit
    // scales; a quant is 4 bits from ql and 2 from qh, minus 32; x = d·sc·(q − 32). Each 128-element half uses
    // ql[64] and qh[32]: elements l, l+32, l+64, l+96 take the low nibble of ql[l], of ql[l+32], the high nibble of
    // ql[l], of ql[l+32], with qh[l]'s bits 0–1, 2–3, 4–5, 6–7 on top.
    readonly struct Q6_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = Half(ref b, 208);
            var three = Vector128.Create((byte)3);
            for (int half = 0; half < 2; half++)
            {
                ref float o = ref Unsafe.Add(ref y, 128 * half);
                ref sbyte sc = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref b, 192 + 8 * half));
                for (int i = 0; i < 2; i++)
                {
                    var lo = Load(ref b, 64 * half + 16 * i);
                    var hi = Load(ref b, 64 * half + 32 + 16 * i);
                    var h = Load(ref b, 128 + 32 * half + 16 * i);
                    Emit((lo & LowNibble) | ((h & three) << 4), 32, d * Unsafe.Add(ref sc, i), ref Unsafe.Add(ref o, 16 * i));
                    Emit((hi & LowNibble) | (((h >>> 2) & three) << 4), 32, d * Unsafe.Add(ref sc, i + 2), ref Unsafe.Add(ref o, 32 + 16 * i));
                    Emit((lo >>> 4) | (((h >>> 4) & three) << 4), 32, d * Unsafe.Add(ref sc, i + 4), ref Unsafe.Add(ref o, 64 + 16 * i));
                    Emit((hi >>> 4) | ((h >>> 6) << 4), 32, d * Unsafe.Add(ref sc, i + 6), ref Unsafe.Add(ref o, 96 + 16 * i));
                }
            }
        }
    }

    // block_q8_K { f32 d; i8 qs[256]; i16 bsums[16]; }: x = d·q (bsums only serve dot products).
    readonly struct Q8_KBlock : IBlockFormat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Decode(ref byte b, ref float y)
        {
            float d = BinaryPrimitives.ReadSingleLittleEndian(MemoryMarshal.CreateReadOnlySpan(ref b, 4));
            var signBit = Vector128.Create((byte)0x80);
            for (int i = 0; i < 16; i++) Emit(Load(ref b, 4 + 16 * i) ^ signBit, 128, d, ref Unsafe.Add(ref y, 16 * i));
        }
    }

    // ---- shared pieces -----------------------------------------------------------------------------------

    static Vector128<byte> LowNibble => Vector128.Create((byte)0x0F);

    /// <summary>An fp16 scale widened to float32, exactly, with integer moves for normal numbers: this runs once per
    /// block of 32, where the library's general conversion would cost as much as the block's quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Half(ref byte b, int offset)
    {
        uint h = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref b, offset));
        uint bits = (h & 0x7FFF) << 13;                 // exponent and mantissa in float32's places
        uint exponent = bits & 0x0F800000;
        float magnitude;
        if (exponent == 0x0F800000) return (float)BitConverter.UInt16BitsToHalf((ushort)h); // infinity, NaN
        if (exponent != 0) magnitude = BitConverter.UInt32BitsToSingle(bits + (112u << 23)); // rebias 15 → 127
        else magnitude = BitConverter.UInt32BitsToSingle(bits + (113u << 23)) - 6.103515625e-05f; // 2⁻¹⁴·(1 + m/1024) − 2⁻¹⁴ = m·2⁻²⁴, exact
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | (h & 0x8000) << 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> Load(ref byte b, int offset) => Vector128.LoadUnsafe(ref b, (nuint)offset);

    /// <summary>Writes y[i] = (u[i] − offset) · scale for 16 unsigned quants (the subtraction is exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Emit(Vector128<byte> u, float offset, float scale, ref float y)
    {
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            var f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(u));
            ((f - Vector512.Create(offset)) * Vector512.Create(scale)).StoreUnsafe(ref y);
        }
        else if (Avx2.IsSupported)
        {
            var (lo, hi) = Widen8(u);
            ((lo - Vector256.Create(offset)) * Vector256.Create(scale)).StoreUnsafe(ref y);
            ((hi - Vector256.Create(offset)) * Vector256.Create(scale)).StoreUnsafe(ref y, 8);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var o = Vector128.Create(offset);
            var s = Vector128.Create(scale);
            for (int i = 0; i < 4; i++) ((Widen4(u, i) - o) * s).StoreUnsafe(ref y, (nuint)(4 * i));
        }
        else
        {
            for (int i = 0; i < 16; i++) Unsafe.Add(ref y, i) = (u.GetElement(i) - offset) * scale;
        }
    }

    /// <summary>Writes y[i] = u[i] · scale + bias for 16 unsigned quants (multiply, then add: not fused, as ggml).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void EmitAffine(Vector128<byte> u, float scale, float bias, ref float y)
    {
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            var f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(u));
            (f * Vector512.Create(scale) + Vector512.Create(bias)).StoreUnsafe(ref y);
        }
        else if (Avx2.IsSupported)
        {
            var (lo, hi) = Widen8(u);
            (lo * Vector256.Create(scale) + Vector256.Create(bias)).StoreUnsafe(ref y);
            (hi * Vector256.Create(scale) + Vector256.Create(bias)).StoreUnsafe(ref y, 8);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(scale);
            var c = Vector128.Create(bias);
            for (int i = 0; i < 4; i++) (Widen4(u, i) * s + c).StoreUnsafe(ref y, (nuint)(4 * i));
        }
        else
        {
            for (int i = 0; i < 16; i++) Unsafe.Add(ref y, i) = u.GetElement(i) * scale + bias;
        }
    }

    /// <summary>AVX2: 16 bytes to two vectors of 8 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>) Widen8(Vector128<byte> u) =>
        (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(u)),
         Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(u, 8))));

    /// <summary>Bytes 4i..4i+3 of <paramref name="u"/> as floats, with portable 128-bit operations (Arm64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Widen4(Vector128<byte> u, int i)
    {
        var w = i < 2 ? Vector128.WidenLower(u) : Vector128.WidenUpper(u);
        var v = (i & 1) == 0 ? Vector128.WidenLower(w) : Vector128.WidenUpper(w);
        return Vector128.ConvertToSingle(v.AsInt32());
    }
}
