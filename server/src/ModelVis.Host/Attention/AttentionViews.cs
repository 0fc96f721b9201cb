using System.Runtime.InteropServices;
using ModelVis.Render;

namespace ModelVis.Host.Attention;

public sealed record MatrixImage(string Png, int Width, int Height, int N, int Factor, float High, string Colormap);

/// <summary>Pictures of attention matrices: sequential colormap from 0 to the matrix's largest weight.</summary>
public static class AttentionViews
{
    public const string Colormap = "viridis";

    /// <summary>[n, n] weights as a PNG, one pixel per (query, key), or per block of tokens when n exceeds maxSize.</summary>
    public static MatrixImage Image(float[] matrix, int n, int maxSize, string colormap = Colormap) =>
        Image(matrix, n, n, maxSize, colormap);

    /// <summary>A [rows, cols] non-negative matrix on a 0..max sequential scale.</summary>
    public static MatrixImage Image(float[] matrix, int rows, int cols, int maxSize, string colormap)
    {
        int n = cols;
        var reduced = Downsample.Reduce(matrix, rows, cols, maxSize, maxSize, ReduceMethod.MaxAbs);
        float high = Max(reduced.Values);
        var scale = ColorScale.Fixed(0, high > 0 ? high : 1, colormap);
        var image = Heatmap.Render(reduced.Values, reduced.Rows, reduced.Cols, scale);
        return new MatrixImage(Convert.ToBase64String(image.ToPng()), image.Width, image.Height, n, reduced.ColFactor, high, colormap);
    }

    public static float Max(ReadOnlySpan<float> values)
    {
        float m = 0;
        foreach (var v in values) if (v > m) m = v;
        return m;
    }

    /// <summary>Little-endian float32 bytes, base64 (how matrices travel to the webview).</summary>
    public static string Base64(ReadOnlySpan<float> values) => Convert.ToBase64String(MemoryMarshal.AsBytes(values));
}
