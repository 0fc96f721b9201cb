using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelVis.Tensors;

public static class Softmax
{
    /// <summary>softmax over one row, in place: exp(x − max) / Σ exp(x − max). −∞ entries come out exactly 0.</summary>
    public static void InPlace(Span<float> row) => InPlace(row, 1f);

    /// <summary>softmax(x / <paramref name="divisor"/>) over one row, in place (the division is done first and rounded, as torch does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> row, float divisor)
    {
        int n = row.Length;
        if (n == 0) return;
        ref float x = ref MemoryMarshal.GetReference(row);
        int i = 0;
        float max = float.NegativeInfinity, sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var d = Vector512.Create(divisor);
            var vmax = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref x, (nuint)i) / d;
                v.StoreUnsafe(ref x, (nuint)i);
                vmax = Vector512.Max(vmax, v);
            }
            for (int l = 0; l < 16; l++) max = MathF.Max(max, vmax.GetElement(l));
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref x, i) / divisor;
            Unsafe.Add(ref x, i) = v;
            max = MathF.Max(max, v);
        }

        i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.Create(max);
            var vsum = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var e = Vector512.Exp(Vector512.LoadUnsafe(ref x, (nuint)i) - m);
                e.StoreUnsafe(ref x, (nuint)i);
                vsum += e;
            }
            sum = Vector512.Sum(vsum);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref x, i) - max);
            Unsafe.Add(ref x, i) = e;
            sum += e;
        }

        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(sum);
            for (; i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref x, (nuint)i) / s).StoreUnsafe(ref x, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref x, i) /= sum;
    }
}
