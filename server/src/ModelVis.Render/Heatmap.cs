namespace ModelVis.Render;

/// <summary>Float matrices to colour rasters.</summary>
public static class Heatmap
{
    /// <summary>Renders a row-major rows × cols matrix, each value a scaleX × scaleY block of pixels.</summary>
    public static RgbaImage Render(ReadOnlySpan<float> values, int rows, int cols, Colormap map, float low, float high, int scaleX = 1, int scaleY = 1)
    {
        var image = new RgbaImage(checked(cols * scaleX), checked(rows * scaleY));
        Draw(image, 0, 0, values, rows, cols, map, low, high, scaleX, scaleY);
        return image;
    }

    public static RgbaImage Render(ReadOnlySpan<float> values, int rows, int cols, ColorScale scale, int scaleX = 1, int scaleY = 1) =>
        Render(values, rows, cols, scale.Map, scale.Low, scale.High, scaleX, scaleY);

    /// <summary>Draws into <paramref name="target"/> with the matrix's top-left corner at (x, y); must fit.</summary>
    public static void Draw(RgbaImage target, int x, int y, ReadOnlySpan<float> values, int rows, int cols, Colormap map, float low, float high, int scaleX = 1, int scaleY = 1)
    {
        if ((long)rows * cols != values.Length) throw new ArgumentException($"{values.Length} values are not a {rows}×{cols} matrix");
        if (scaleX < 1 || scaleY < 1) throw new ArgumentOutOfRangeException(nameof(scaleX));
        int w = cols * scaleX, h = rows * scaleY;
        if (x < 0 || y < 0 || x + w > target.Width || y + h > target.Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"a {w}×{h} heatmap at ({x}, {y}) does not fit a {target.Width}×{target.Height} image");
        var px = target.PackedPixels;
        uint[]? line = scaleX == 1 ? null : new uint[cols];
        for (int r = 0; r < rows; r++)
        {
            var src = values.Slice(r * cols, cols);
            var first = px.Slice((y + r * scaleY) * target.Width + x, w);
            if (line is null) map.Apply(src, low, high, first);
            else
            {
                map.Apply(src, low, high, line);
                for (int c = 0; c < cols; c++) first.Slice(c * scaleX, scaleX).Fill(line[c]);
            }
            for (int k = 1; k < scaleY; k++) first.CopyTo(px.Slice((y + r * scaleY + k) * target.Width + x, w));
        }
    }
}
