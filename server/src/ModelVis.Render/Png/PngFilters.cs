using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelVis.Render;

/// <summary>PNG row filters for the encoder. <c>prev</c> is the previous raw row, all zeros for the first.</summary>
internal static class PngFilters
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte Paeth(byte a, byte b, byte c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Writes filter <paramref name="type"/> of row <paramref name="cur"/> to <paramref name="dst"/> (same length).</summary>
    public static void Filter(int type, ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, int bpp, Span<byte> dst)
    {
        int n = cur.Length;
        switch (type)
        {
            case 0:
                cur.CopyTo(dst);
                return;
            case 1:
                cur[..bpp].CopyTo(dst);
                int i1 = bpp + VectorSub(cur[bpp..], cur[..^bpp], dst[bpp..]);
                for (; i1 < n; i1++) dst[i1] = (byte)(cur[i1] - cur[i1 - bpp]);
                return;
            case 2:
                int i2 = VectorSub(cur, prev, dst);
                for (; i2 < n; i2++) dst[i2] = (byte)(cur[i2] - prev[i2]);
                return;
            case 3:
                for (int i = 0; i < bpp; i++) dst[i] = (byte)(cur[i] - (prev[i] >> 1));
                int i3 = bpp + VectorAverage(cur, prev, dst, bpp);
                for (; i3 < n; i3++) dst[i3] = (byte)(cur[i3] - ((cur[i3 - bpp] + prev[i3]) >> 1));
                return;
            case 4:
                for (int i = 0; i < bpp; i++) dst[i] = (byte)(cur[i] - prev[i]);
                int i4 = bpp + VectorPaeth(cur, prev, dst, bpp);
                for (; i4 < n; i4++) dst[i4] = (byte)(cur[i4] - Paeth(cur[i4 - bpp], prev[i4], prev[i4 - bpp]));
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    // dst[i] = a[i] - b[i] (all the same length), vectorised; returns how many were done.
    static int VectorSub(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dst)
    {
        if (!Vector256.IsHardwareAccelerated) return 0;
        int count = a.Length, i = 0;
        ref byte ra = ref MemoryMarshal.GetReference(a);
        ref byte rb = ref MemoryMarshal.GetReference(b);
        ref byte rd = ref MemoryMarshal.GetReference(dst);
        for (; i + 32 <= count; i += 32)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) - Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        return i;
    }

    static int VectorAverage(ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, Span<byte> dst, int bpp)
    {
        if (!Vector256.IsHardwareAccelerated) return 0;
        int count = cur.Length - bpp, i = 0;
        ref byte rc = ref MemoryMarshal.GetReference(cur);
        ref byte rp = ref MemoryMarshal.GetReference(prev);
        ref byte rd = ref MemoryMarshal.GetReference(dst);
        for (; i + 32 <= count; i += 32)
        {
            nuint at = (nuint)(i + bpp);
            var x = Vector256.LoadUnsafe(ref rc, at);
            var a = Vector256.LoadUnsafe(ref rc, (nuint)i);
            var b = Vector256.LoadUnsafe(ref rp, at);
            var avg = (a & b) + Vector256.ShiftRightLogical(a ^ b, 1);
            (x - avg).StoreUnsafe(ref rd, at);
        }
        return i;
    }

    static int VectorPaeth(ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, Span<byte> dst, int bpp)
    {
        if (!Vector256.IsHardwareAccelerated) return 0;
        int count = cur.Length - bpp, i = 0;
        ref byte rc = ref MemoryMarshal.GetReference(cur);
        ref byte rp = ref MemoryMarshal.GetReference(prev);
        ref byte rd = ref MemoryMarshal.GetReference(dst);
        for (; i + 32 <= count; i += 32)
        {
            nuint at = (nuint)(i + bpp);
            var x = Vector256.LoadUnsafe(ref rc, at);
            var a = Vector256.LoadUnsafe(ref rc, (nuint)i);
            var b = Vector256.LoadUnsafe(ref rp, at);
            var c = Vector256.LoadUnsafe(ref rp, (nuint)i);
            var (alo, ahi) = Vector256.Widen(a);
            var (blo, bhi) = Vector256.Widen(b);
            var (clo, chi) = Vector256.Widen(c);
            var lo = PaethPredict(alo.AsInt16(), blo.AsInt16(), clo.AsInt16());
            var hi = PaethPredict(ahi.AsInt16(), bhi.AsInt16(), chi.AsInt16());
            var pred = Vector256.Narrow(lo.AsUInt16(), hi.AsUInt16());
            (x - pred).StoreUnsafe(ref rd, at);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> PaethPredict(Vector256<short> a, Vector256<short> b, Vector256<short> c)
    {
        var bc = b - c;                  // p - a
        var ac = a - c;                  // p - b
        var pa = Vector256.Abs(bc);
        var pb = Vector256.Abs(ac);
        var pc = Vector256.Abs(bc + ac); // p - c
        var useA = Vector256.LessThanOrEqual(pa, pb) & Vector256.LessThanOrEqual(pa, pc);
        var useB = Vector256.LessThanOrEqual(pb, pc);
        return Vector256.ConditionalSelect(useA, a, Vector256.ConditionalSelect(useB, b, c));
    }

    /// <summary>Σ |(sbyte)x|, the filter-choice heuristic.</summary>
    public static long SumAbs(ReadOnlySpan<byte> row)
    {
        long sum = 0;
        int i = 0;
        if (Avx2.IsSupported)
        {
            ref byte r = ref MemoryMarshal.GetReference(row);
            var acc = Vector256<ulong>.Zero;
            for (; i + 32 <= row.Length; i += 32)
            {
                var v = Vector256.Abs(Vector256.LoadUnsafe(ref r, (nuint)i).AsSByte()).AsByte();
                acc += Avx2.SumAbsoluteDifferences(v, Vector256<byte>.Zero).AsUInt64();
            }
            sum = (long)Vector256.Sum(acc);
        }
        for (; i < row.Length; i++) sum += Math.Abs((int)(sbyte)row[i]); // widen first: |-128| overflows sbyte
        return sum;
    }
}
