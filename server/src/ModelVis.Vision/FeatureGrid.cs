namespace ModelVis.Vision;

/// <summary>
/// A layer's channels prepared for drawing as a grid (the colouring itself is ModelVis.Render's job):
/// the maps in display order, scaled per channel (each stretched to its own min..max → 0..1) or per layer
/// (raw values, one range for all).
/// </summary>
public sealed record FeatureGrid(IReadOnlyList<float[]> Maps, int Height, int Width, int[] Order, string Scaling, float Low, float High)
{
    public static FeatureGrid Prepare(LayerOutput layer, string scaling = "channel", bool sortByMean = false)
    {
        if (!layer.IsFeatureMap) throw new VisionException($"layer {layer.Name} has shape {NdArray.ShapeText(layer.Shape)}, not [C, H, W] feature maps");
        int c = layer.Shape[0];
        var order = Enumerable.Range(0, c).ToArray();
        if (sortByMean)
        {
            var means = layer.ChannelMeans();
            order = order.OrderByDescending(i => means[i]).ThenBy(i => i).ToArray();
        }
        var maps = order.Select(i => layer.Map(i).ToArray()).ToList();
        switch (scaling)
        {
            case "channel":
                foreach (var m in maps)
                {
                    var (min, max) = FiniteRange(m);
                    float span = max - min;
                    for (int i = 0; i < m.Length; i++) m[i] = span > 0 && float.IsFinite(m[i]) ? (m[i] - min) / span : 0f;
                }
                return new FeatureGrid(maps, layer.Shape[1], layer.Shape[2], order, scaling, 0f, 1f);
            case "layer":
                var (lo, hi) = FiniteRange(layer.Value.Floats);
                return new FeatureGrid(maps, layer.Shape[1], layer.Shape[2], order, scaling, lo, hi > lo ? hi : lo + 1);
            default: throw new VisionException($"scaling \"{scaling}\": use channel or layer");
        }
    }

    /// <summary>Convolution filters [M, C, kH, kW] as M·C small maps (filter-major), on one symmetric range ±max|w|.</summary>
    public static FeatureGrid Kernels(NdArray weights)
    {
        if (weights.Rank != 4) throw new VisionException($"filters must be [M, C, kH, kW], got {weights.ShapeString}");
        int count = weights.Shape[0] * weights.Shape[1], kh = weights.Shape[2], kw = weights.Shape[3];
        var w = weights.Floats;
        var maps = Enumerable.Range(0, count).Select(i => w.AsSpan(i * kh * kw, kh * kw).ToArray()).ToList();
        float limit = w.Length == 0 ? 1 : w.Max(v => Math.Abs(v));
        if (limit == 0) limit = 1;
        return new FeatureGrid(maps, kh, kw, Enumerable.Range(0, count).ToArray(), "layer", -limit, limit);
    }

    static (float Min, float Max) FiniteRange(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
            if (float.IsFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
        return min > max ? (0f, 0f) : (min, max);
    }
}
