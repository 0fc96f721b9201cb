namespace ModelVis.Render;

/// <summary>
/// How values became colours. <see cref="Low"/>/<see cref="High"/> map to the ends of <see cref="Colormap"/>;
/// for a diverging map they are −<see cref="Limit"/>/+<see cref="Limit"/>, zero in the centre.
/// <see cref="Min"/>/<see cref="Max"/> are the finite extremes of the values drawn.
/// </summary>
public sealed record ColorScale(string Colormap, float Low, float High, float Min, float Max, float Limit)
{
    public Colormap Map => Render.Colormap.Get(Colormap);

    /// <summary>Symmetric range ±limit, where limit is the <paramref name="percentile"/> of |x| over finite values
    /// (100 = max |x|; 99.5 ignores the most extreme 0.5 %, which are then clamped). All zeros give limit 0 (drawn white).</summary>
    public static ColorScale Diverging(ReadOnlySpan<float> values, double percentile = 100, string colormap = "rdbu")
    {
        var (min, max) = FiniteMinMax(values);
        float limit = percentile >= 100 ? Math.Max(Math.Abs(min), Math.Abs(max)) : AbsPercentile(values, percentile);
        if (float.IsNaN(limit)) limit = 0;
        return new ColorScale(colormap, -limit, limit, min, max, limit);
    }

    public static ColorScale Symmetric(float limit, float min, float max, string colormap = "rdbu") =>
        new(colormap, -Math.Abs(limit), Math.Abs(limit), min, max, Math.Abs(limit));

    /// <summary>Range [min, max] of finite values, or the given percentiles of them.</summary>
    public static ColorScale Sequential(ReadOnlySpan<float> values, string colormap = "viridis", double lowPercentile = 0, double highPercentile = 100)
    {
        var (min, max) = FiniteMinMax(values);
        float low = min, high = max;
        if (lowPercentile > 0 || highPercentile < 100)
        {
            var sample = FiniteSample(values, abs: false);
            if (sample.Length > 0)
            {
                Array.Sort(sample);
                low = Pick(sample, lowPercentile);
                high = Pick(sample, highPercentile);
            }
        }
        return new ColorScale(colormap, low, high, min, max, Math.Max(Math.Abs(low), Math.Abs(high)));
    }

    public static ColorScale Fixed(float low, float high, string colormap, float min = float.NaN, float max = float.NaN) =>
        new(colormap, low, high, min, max, Math.Max(Math.Abs(low), Math.Abs(high)));

    /// <summary>Finite min and max (NaN, NaN when there are none).</summary>
    public static (float Min, float Max) FiniteMinMax(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return min > max ? (float.NaN, float.NaN) : (min, max);
    }

    /// <summary>The <paramref name="percentile"/> (0–100) of |x| over finite values, on a deterministic
    /// evenly strided sample of at most 2^20 values.</summary>
    public static float AbsPercentile(ReadOnlySpan<float> values, double percentile)
    {
        var sample = FiniteSample(values, abs: true);
        if (sample.Length == 0) return float.NaN;
        Array.Sort(sample);
        return Pick(sample, percentile);
    }

    static float Pick(float[] sorted, double percentile)
    {
        double pos = Math.Clamp(percentile, 0, 100) / 100 * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        return (float)(sorted[i] + (sorted[i + 1] - sorted[i]) * (pos - i));
    }

    static float[] FiniteSample(ReadOnlySpan<float> values, bool abs)
    {
        const int maxSample = 1 << 20;
        long step = Math.Max(1, (values.Length + maxSample - 1) / maxSample);
        var list = new List<float>((int)Math.Min(values.Length, maxSample));
        for (long i = 0; i < values.Length; i += step)
        {
            float v = values[(int)i];
            if (float.IsFinite(v)) list.Add(abs ? Math.Abs(v) : v);
        }
        return list.ToArray();
    }
}
