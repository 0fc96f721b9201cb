using ModelVis.Render;
using ModelVis.Render.Figures;
using SkiaSharp;

namespace ModelVis.Render.Tests;

/// <summary>
/// Attention figures draw their text in the shipped font: without it SkiaSharp silently draws none, so these look at
/// the pixels where the labels, title and ticks must be.
/// </summary>
public class AttentionFigureTests
{
    static (float[] Attention, string[] Tokens) Causal(int n)
    {
        var a = new float[n * n];
        for (int q = 0; q < n; q++)
        {
            float sum = 0;
            for (int k = 0; k <= q; k++) sum += a[q * n + k] = 1f + (k == q ? 3 : 0) + (k == 0 ? 2 : 0);
            for (int k = 0; k <= q; k++) a[q * n + k] /= sum;
        }
        var words = new[] { "<s>", " The", " cat", " sat", " on", " the", " mat", ".", "\n", " ", " extraordinarily" };
        return (a, Enumerable.Range(0, n).Select(i => words[i % words.Length]).ToArray());
    }

    /// <summary>How many pixels in <paramref name="r"/> are near the text colour (and so not page, not heatmap).</summary>
    static int InkPixels(RgbaImage img, SKRectI r, SKColor ink)
    {
        int count = 0;
        for (int y = Math.Max(0, r.Top); y < Math.Min(img.Height, r.Bottom); y++)
            for (int x = Math.Max(0, r.Left); x < Math.Min(img.Width, r.Right); x++)
            {
                var p = img[x, y];
                if (Math.Abs(p.R - ink.Red) + Math.Abs(p.G - ink.Green) + Math.Abs(p.B - ink.Blue) < 60) count++;
            }
        return count;
    }

    static int DistinctColours(RgbaImage img, SKRectI r)
    {
        var set = new HashSet<uint>();
        for (int y = r.Top; y < r.Bottom; y++)
            for (int x = r.Left; x < r.Right; x++) set.Add(img[x, y].Packed);
        return set.Count;
    }

    [Theory]
    [InlineData("light")]
    [InlineData("dark")]
    public void A_head_figure_draws_its_labels_title_and_ticks(string themeName)
    {
        var theme = FigureTheme.Get(themeName);
        var (a, tokens) = Causal(12);
        var fig = AttentionFigure.Head(a, 12, tokens, "tiny — layer 0, head 1", "12 tokens", theme);
        var img = fig.Image;
        var page = theme.Background;
        Assert.Equal(new Rgba(page.Red, page.Green, page.Blue), img[1, 1]);
        foreach (var (name, rect) in new[] { ("row labels", fig.Layout.RowLabels), ("column labels", fig.Layout.ColumnLabels), ("title", fig.Layout.Title), ("colour bar ticks", fig.Layout.ColourBar) })
        {
            Assert.True(DistinctColours(img, rect) > 8, $"{name}: a flat area");          // antialiased glyph edges
            Assert.True(InkPixels(img, rect, theme.Text) > 50, $"{name}: no text drawn ({InkPixels(img, rect, theme.Text)} ink pixels)");
        }
        // The heatmap itself: the diagonal is brighter (viridis, higher = yellower) than the masked upper triangle.
        var plot = fig.Layout.Plot;
        int cell = plot.Width / 12;
        var diagonal = img[plot.Left + cell * 5 + cell / 2, plot.Top + cell * 5 + cell / 2];
        var masked = img[plot.Left + cell * 10 + cell / 2, plot.Top + cell * 2 + cell / 2];
        Assert.True(diagonal.G > masked.G + 40, $"{diagonal} vs {masked}");
        Assert.Equal(1, fig.Layout.LabelEvery);
        // PNG through ModelVis' encoder, RGB (the page is opaque).
        var png = fig.ToPng();
        Assert.Equal(2, png[25]);
    }

    [Fact]
    public void Sixty_and_more_tokens_get_every_kth_label_so_labels_do_not_overlap()
    {
        var (a, tokens) = Causal(120);
        var fig = AttentionFigure.Head(a, 120, tokens, "t", "s", FigureTheme.Light);
        Assert.True(fig.Layout.LabelEvery >= 2, $"every {fig.Layout.LabelEvery}");
        // Label rows are at least one line of text apart: every·cell ≥ the 8-point font's line.
        float cellPoints = fig.Layout.Plot.Height / 2f / 120;
        Assert.True(fig.Layout.LabelEvery * cellPoints >= 8 * 1.3f - 0.01f);
        Assert.True(InkPixels(fig.Image, fig.Layout.RowLabels, FigureTheme.Light.Text) > 200);
    }

    [Fact]
    public void The_model_view_grid_labels_every_layer_and_head()
    {
        var (a, _) = Causal(10);
        var maps = Enumerable.Range(0, 3 * 4).Select(_ => a).ToList();
        var fig = AttentionFigure.Grid(maps, 3, 4, 10, "tiny — attention, 3 layers × 4 heads", "10 tokens", FigureTheme.Dark);
        Assert.True(InkPixels(fig.Image, fig.Layout.RowLabels, FigureTheme.Dark.Text) > 100);
        Assert.True(InkPixels(fig.Image, fig.Layout.ColumnLabels, FigureTheme.Dark.Text) > 100);
        Assert.Throws<ArgumentException>(() => AttentionFigure.Grid(maps, 3, 5, 10, "t", "s", FigureTheme.Dark));
    }

    [Theory]
    [InlineData(" cat", "·cat")]
    [InlineData(" ", "␣")]
    [InlineData("  ", "␣␣")]
    [InlineData("\n", "↵")]
    [InlineData("\t x", "→·x")]
    [InlineData("", "∅")]
    [InlineData("\u0007", "\\u0007")]
    [InlineData(" extraordinarily", "·extraordinar…")]
    [InlineData("naïve", "naïve")]
    public void Token_labels_show_whitespace_and_cut_long_tokens(string readable, string label) =>
        Assert.Equal(label, FigureLabels.Token(readable));

    [Fact]
    public void Characters_the_font_lacks_become_escapes_not_boxes()
    {
        Assert.True(FigureFont.HasGlyph('A'));
        Assert.False(FigureFont.HasGlyph(0x4E2D));                  // 中: DejaVu Sans has no CJK
        Assert.False(FigureFont.HasGlyph(0x1D400));                 // 𝐀 (outside the BMP)
        Assert.Equal("·\\u4E2D\\u{1D400}", FigureLabels.Token(" 中𝐀"));
    }

    [Fact]
    public void Ticks_are_round_numbers_up_to_the_maximum()
    {
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1], FigureLabels.Ticks(1));
        Assert.Equal([0, 0.05, 0.1, 0.15], FigureLabels.Ticks(0.17));
        Assert.Equal("0.25", FigureLabels.Number(0.25));
    }
}
