using SkiaSharp;

namespace ModelVis.Render.Figures;

/// <summary>Where a figure put its parts, in pixels of the returned image (for tests and callers that crop).</summary>
public sealed record FigureLayout(SKRectI Title, SKRectI RowLabels, SKRectI ColumnLabels, SKRectI Plot, SKRectI ColourBar, int LabelEvery);

/// <summary>A rendered figure: the raster and where its parts are.</summary>
public sealed record Figure(RgbaImage Image, FigureLayout Layout)
{
    /// <summary>PNG bytes (ModelVis' encoder: measured faster than SkiaSharp's on the host's rasters).</summary>
    public byte[] ToPng() => Image.ToPng(dropOpaqueAlpha: true);
}

/// <summary>
/// Attention figures for papers, drawn with SkiaSharp in the shipped font: one head's heatmap with its token labels
/// (queries down, keys across), title and colour bar; and the model view, every layer × head as a labelled grid.
/// Sizes are in points; <c>scale</c> points → pixels (2 gives print resolution at about 7 inches wide).
/// </summary>
public static class AttentionFigure
{
    const float Pad = 18, TitleSize = 17, SubtitleSize = 12, TickSize = 10, AxisSize = 11, BarWidth = 14;

    /// <param name="attention">[n, n] row-major: row = query, column = key.</param>
    /// <param name="tokens">The n tokens in readable form (spaces as spaces); <see cref="FigureLabels.Token"/> escapes them.</param>
    public static Figure Head(ReadOnlySpan<float> attention, int n, IReadOnlyList<string> tokens, string title, string subtitle,
        FigureTheme theme, string colormap = "viridis", float scale = 2)
    {
        if (attention.Length != (long)n * n) throw new ArgumentException($"{attention.Length} values are not an {n}×{n} matrix");
        if (tokens.Count != n) throw new ArgumentException($"{tokens.Count} labels for {n} tokens");
        var map = Colormap.Get(colormap);
        float high = Max(attention);
        float cell = 760f / n;
        cell = cell >= 3 ? MathF.Min(MathF.Floor(cell), 30) : MathF.Max(cell, 0.5f);
        float m = cell * n;
        float labelSize = Math.Clamp(cell * 0.72f, 8, 12);
        int every = Math.Max(1, (int)MathF.Ceiling(labelSize * 1.3f / cell));
        var labels = tokens.Select(t => FigureLabels.Token(t)).ToArray();
        if (every > 1) subtitle += $" · every {Ordinal(every)} token labelled";

        using var labelFont = FigureFont.Font(labelSize);
        using var titleFont = FigureFont.Font(TitleSize);
        using var subFont = FigureFont.Font(SubtitleSize);
        using var tickFont = FigureFont.Font(TickSize);
        using var axisFont = FigureFont.Font(AxisSize);
        float labelWidth = Enumerable.Range(0, n).Where(i => i % every == 0).Max(i => labelFont.MeasureText(labels[i]));
        var ticks = FigureLabels.Ticks(high);
        float tickWidth = ticks.Max(t => tickFont.MeasureText(FigureLabels.Number(t)));

        float x0 = Pad + AxisSize + 8 + labelWidth + 6, y0 = Pad + TitleSize + 8 + SubtitleSize + 16;
        float barX = x0 + m + 16;
        float width = Math.Max(barX + BarWidth + 6 + tickWidth + Pad,
            Pad * 2 + Math.Max(titleFont.MeasureText(title), subFont.MeasureText(subtitle)));
        float height = y0 + m + 6 + labelWidth + 8 + AxisSize + Pad;

        using var image = MatrixImage(attention, n, n, map, 0, high);
        return Draw(width, height, scale, theme, canvas =>
        {
            DrawTitle(canvas, theme, titleFont, subFont, title, subtitle);
            canvas.DrawImage(image, SKRect.Create(x0, y0, m, m), Sampling(cell));
            DrawFrame(canvas, theme, SKRect.Create(x0, y0, m, m));

            using var text = Paint(theme.Text);
            for (int i = 0; i < n; i += every)
                canvas.DrawText(labels[i], x0 - 6, y0 + (i + 0.5f) * cell + labelSize * 0.35f, SKTextAlign.Right, labelFont, text);
            for (int j = 0; j < n; j += every)
            {
                canvas.Save();
                canvas.Translate(x0 + (j + 0.5f) * cell, y0 + m + 6);
                canvas.RotateDegrees(-90);
                canvas.DrawText(labels[j], 0, labelSize * 0.35f, SKTextAlign.Right, labelFont, text);
                canvas.Restore();
            }
            using var muted = Paint(theme.Muted);
            canvas.DrawText("Key (attended to)", x0 + m / 2, height - Pad, SKTextAlign.Center, axisFont, muted);
            canvas.Save();
            canvas.Translate(Pad + AxisSize, y0 + m / 2);
            canvas.RotateDegrees(-90);
            canvas.DrawText("Query (attending)", 0, 0, SKTextAlign.Center, axisFont, muted);
            canvas.Restore();

            DrawColourBar(canvas, theme, map, SKRect.Create(barX, y0, BarWidth, m), high, ticks.Select(t => (t / high, FigureLabels.Number(t))), tickFont);
        }, new FigureLayoutPoints(
            SKRect.Create(Pad, Pad, width - 2 * Pad, TitleSize + 8 + SubtitleSize),
            SKRect.Create(Pad + AxisSize + 8, y0, labelWidth, m),
            SKRect.Create(x0, y0 + m + 6, m, labelWidth),
            SKRect.Create(x0, y0, m, m),
            SKRect.Create(barX, y0, BarWidth + 6 + tickWidth, m), every));
    }

    /// <summary>
    /// The model view: <paramref name="maps"/>[layer × heads + head] is that head's [n, n] attention, drawn as a
    /// thumbnail stretched to its own maximum; rows are labelled by layer, columns by head.
    /// </summary>
    public static Figure Grid(IReadOnlyList<float[]> maps, int layers, int heads, int n, string title, string subtitle,
        FigureTheme theme, string colormap = "viridis", float scale = 2)
    {
        if (maps.Count != layers * heads) throw new ArgumentException($"{maps.Count} maps for {layers} layers × {heads} heads");
        var map = Colormap.Get(colormap);
        float thumb = Math.Clamp(MathF.Floor(1000f / heads), 40, 120), gap = 6;
        using var titleFont = FigureFont.Font(TitleSize);
        using var subFont = FigureFont.Font(SubtitleSize);
        using var labelFont = FigureFont.Font(11);
        using var tickFont = FigureFont.Font(TickSize);
        float rowLabelWidth = labelFont.MeasureText($"layer {layers - 1}");
        float x0 = Pad + rowLabelWidth + 8, y0 = Pad + TitleSize + 8 + SubtitleSize + 16 + 11 + 6;
        float gridW = heads * thumb + (heads - 1) * gap, gridH = layers * thumb + (layers - 1) * gap;
        float barX = x0 + gridW + 16, barH = Math.Min(gridH, 240);
        (double, string)[] barTicks = [(0, "0"), (0.5, "½ max"), (1, "head max")];
        float tickWidth = barTicks.Max(t => tickFont.MeasureText(t.Item2));
        float width = Math.Max(barX + BarWidth + 6 + tickWidth + Pad, Pad * 2 + Math.Max(titleFont.MeasureText(title), subFont.MeasureText(subtitle)));
        float height = y0 + gridH + Pad;

        return Draw(width, height, scale, theme, canvas =>
        {
            DrawTitle(canvas, theme, titleFont, subFont, title, subtitle);
            using var text = Paint(theme.Text);
            for (int h = 0; h < heads; h++)
                canvas.DrawText($"head {h}", x0 + h * (thumb + gap) + thumb / 2, y0 - 6, SKTextAlign.Center, labelFont, text);
            for (int l = 0; l < layers; l++)
            {
                float y = y0 + l * (thumb + gap);
                canvas.DrawText($"layer {l}", x0 - 8, y + thumb / 2 + 4, SKTextAlign.Right, labelFont, text);
                for (int h = 0; h < heads; h++)
                {
                    var values = maps[l * heads + h];
                    var rect = SKRect.Create(x0 + h * (thumb + gap), y, thumb, thumb);
                    using var image = MatrixImage(values, n, n, map, 0, Max(values));
                    canvas.DrawImage(image, rect, Sampling(thumb / n));
                    DrawFrame(canvas, theme, rect);
                }
            }
            DrawColourBar(canvas, theme, map, SKRect.Create(barX, y0, BarWidth, barH), 1, barTicks, tickFont);
        }, new FigureLayoutPoints(
            SKRect.Create(Pad, Pad, width - 2 * Pad, TitleSize + 8 + SubtitleSize),
            SKRect.Create(Pad, y0, rowLabelWidth, gridH),
            SKRect.Create(x0, y0 - 6 - 11, gridW, 13),
            SKRect.Create(x0, y0, gridW, gridH),
            SKRect.Create(barX, y0, BarWidth + 6 + tickWidth, barH), 1));
    }

    static string Ordinal(int k) => k + (k % 100 is 11 or 12 or 13 ? "th" : (k % 10) switch { 2 => "nd", 3 => "rd", _ => "th" });

    sealed record FigureLayoutPoints(SKRect Title, SKRect RowLabels, SKRect ColumnLabels, SKRect Plot, SKRect ColourBar, int LabelEvery);

    static Figure Draw(float width, float height, float scale, FigureTheme theme, Action<SKCanvas> draw, FigureLayoutPoints layout)
    {
        int w = (int)MathF.Ceiling(width * scale), h = (int)MathF.Ceiling(height * scale);
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        var pixels = new byte[w * h * 4];
        unsafe
        {
            fixed (byte* p = pixels)
            {
                using var surface = SKSurface.Create(info, (IntPtr)p, w * 4) ?? throw new InvalidOperationException($"SkiaSharp could not make a {w}×{h} canvas");
                var canvas = surface.Canvas;
                canvas.Clear(theme.Background);
                canvas.Scale(scale);
                draw(canvas);
                canvas.Flush();
            }
        }
        // The page is opaque, so premultiplied pixels are the straight ones.
        SKRectI Px(SKRect r) => SKRectI.Round(new SKRect(r.Left * scale, r.Top * scale, r.Right * scale, r.Bottom * scale));
        return new Figure(new RgbaImage(w, h, pixels),
            new FigureLayout(Px(layout.Title), Px(layout.RowLabels), Px(layout.ColumnLabels), Px(layout.Plot), Px(layout.ColourBar), layout.LabelEvery));
    }

    static void DrawTitle(SKCanvas canvas, FigureTheme theme, SKFont titleFont, SKFont subFont, string title, string subtitle)
    {
        using var text = Paint(theme.Text);
        using var muted = Paint(theme.Muted);
        canvas.DrawText(title, Pad, Pad + TitleSize, SKTextAlign.Left, titleFont, text);
        canvas.DrawText(subtitle, Pad, Pad + TitleSize + 8 + SubtitleSize, SKTextAlign.Left, subFont, muted);
    }

    static void DrawFrame(SKCanvas canvas, FigureTheme theme, SKRect rect)
    {
        using var frame = new SKPaint { Color = theme.Frame, Style = SKPaintStyle.Stroke, StrokeWidth = 0.75f, IsAntialias = true };
        canvas.DrawRect(rect, frame);
    }

    /// <summary>A vertical colour bar, <paramref name="high"/> at the top; ticks at fractions of the bar's height.</summary>
    static void DrawColourBar(SKCanvas canvas, FigureTheme theme, Colormap map, SKRect bar, float high, IEnumerable<(double Fraction, string Label)> ticks, SKFont tickFont)
    {
        const int steps = 256;
        var ramp = new float[steps];
        for (int i = 0; i < steps; i++) ramp[i] = 1f - i / (steps - 1f);
        using var image = MatrixImage(ramp, steps, 1, map, 0, 1);
        canvas.DrawImage(image, bar, new SKSamplingOptions(SKFilterMode.Linear));
        DrawFrame(canvas, theme, bar);
        using var text = Paint(theme.Text);
        using var line = new SKPaint { Color = theme.Text, StrokeWidth = 0.75f, IsAntialias = true };
        foreach (var (fraction, label) in ticks)
        {
            float y = bar.Bottom - (float)fraction * bar.Height;
            canvas.DrawLine(bar.Right, y, bar.Right + 4, y, line);
            canvas.DrawText(label, bar.Right + 6, y + TickSize * 0.35f, SKTextAlign.Left, tickFont, text);
        }
    }

    static SKImage MatrixImage(ReadOnlySpan<float> values, int rows, int cols, Colormap map, float low, float high)
    {
        var raster = Heatmap.Render(values, rows, cols, map, low, high > low ? high : low + 1);
        return SKImage.FromPixelCopy(new SKImageInfo(cols, rows, SKColorType.Rgba8888, SKAlphaType.Unpremul), raster.Pixels, raster.Stride)
            ?? throw new InvalidOperationException("SkiaSharp could not take the heatmap's pixels");
    }

    /// <summary>Hard cell edges when a value gets at least a point; averaged when many values share one.</summary>
    static SKSamplingOptions Sampling(float pointsPerValue) =>
        pointsPerValue >= 1 ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);

    static SKPaint Paint(SKColor colour) => new() { Color = colour, IsAntialias = true };

    static float Max(ReadOnlySpan<float> values)
    {
        float max = 0;
        foreach (var v in values) if (v > max) max = v;
        return max;
    }
}
