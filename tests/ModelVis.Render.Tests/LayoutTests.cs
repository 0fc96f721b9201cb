using ModelVis.Render;

namespace ModelVis.Render.Tests;

public class LayoutTests
{
    static float[] Seq(int n, Func<int, float> f) => Enumerable.Range(0, n).Select(f).ToArray();

    [Fact]
    public void Maxabs_keeps_the_sign_of_the_largest_magnitude_and_mean_averages()
    {
        // 3×5, factors 2×2 → 2×3 blocks, edge blocks partial.
        float[] m =
        [
            1, -7, 2, 3, 0,
            4, 5, -6, 1, 9,
            -2, 0, 8, -8, -1,
        ];
        var mx = Downsample.ReduceBy(m, 3, 5, 2, 2, ReduceMethod.MaxAbs);
        Assert.Equal((2, 3, 2, 2), (mx.Rows, mx.Cols, mx.RowFactor, mx.ColFactor));
        Assert.Equal([-7, -6, 9, -2, 8, -1], mx.Values);
        var mean = Downsample.ReduceBy(m, 3, 5, 2, 2, ReduceMethod.Mean);
        Assert.Equal([(1 - 7 + 4 + 5) / 4f, (2 + 3 - 6 + 1) / 4f, 9 / 2f, -2 / 2f, 0f, -1f], mean.Values);
    }

    [Fact]
    public void A_NaN_in_a_block_stays_visible()
    {
        float[] m = [1, float.NaN, 2, 3, 4, 5, 6, 7];
        Assert.True(float.IsNaN(Downsample.ReduceBy(m, 2, 4, 2, 2, ReduceMethod.MaxAbs).Values[0]));
        Assert.True(float.IsNaN(Downsample.ReduceBy(m, 2, 4, 2, 2, ReduceMethod.Mean).Values[0]));
        Assert.Equal(7f, Downsample.ReduceBy(m, 2, 4, 2, 2, ReduceMethod.MaxAbs).Values[1]);
    }

    [Fact]
    public void Streaming_reduction_equals_whole_matrix_reduction()
    {
        var rng = new Random(3);
        int rows = 1000, cols = 77;
        var m = Seq(rows * cols, _ => (float)(rng.NextDouble() * 2 - 1));
        foreach (var method in new[] { ReduceMethod.MaxAbs, ReduceMethod.Mean })
        {
            var whole = Downsample.Reduce(m, rows, cols, 64, 32, method);
            Assert.Equal((16, 3, 63, 26), (whole.RowFactor, whole.ColFactor, whole.Rows, whole.Cols));
            var r = BlockReducer.ToFit(rows, cols, 64, 32, method);
            for (int at = 0; at < rows;)
            {
                int n = Math.Min(rows - at, rng.Next(1, 40));
                r.AddRows(m.AsSpan(at * cols, n * cols));
                at += n;
            }
            Assert.Equal(whole.Values, r.Result().Values);
        }
        // Naive check of one block.
        var mm = Downsample.Reduce(m, rows, cols, 64, 32, ReduceMethod.Mean);
        double s = 0;
        for (int y = 16; y < 32; y++) for (int x = 3; x < 6; x++) s += m[y * cols + x];
        Assert.Equal(s / 48, mm.Values[1 * mm.Cols + 1], 5);
    }

    [Fact]
    public void Heatmap_maps_each_value_to_a_scaled_block()
    {
        var img = Heatmap.Render([-1f, 0f, 1f, float.NaN], 2, 2, Colormap.RdBu, -1, 1, 3, 2);
        Assert.Equal((6, 4), (img.Width, img.Height));
        Assert.Equal(Colormap.RdBu[0], img[0, 0]);
        Assert.Equal(Colormap.RdBu[0], img[2, 1]);
        Assert.Equal(Colormap.RdBu[127], img[3, 0]);
        Assert.Equal(Colormap.RdBu[254], img[0, 2]);
        Assert.Equal(Colormap.RdBu.Bad, img[5, 3]);
    }

    [Fact]
    public void A_4x64_matrix_is_enlarged_to_be_visible()
    {
        var t = TensorImageLayout.Render(Seq(256, i => i % 7 - 3), [4, 64]);
        Assert.Equal("matrix", t.Layout);
        Assert.Equal((8, 8, 512, 32), (t.PixelScaleX, t.PixelScaleY, t.Width, t.Height));
        Assert.False(t.Downsampled);
        Assert.Equal((4, 64), (t.SourceRows, t.SourceCols));
        Assert.Equal(3f, t.Scale.Limit);
        Assert.Equal(t.Image.Pixels, SkiaPng.Decode(t.Png).Rgba);
        Assert.Equal(Colormap.RdBu.Map(-3f, -3f, 3f), t.Image[0, 0]);   // value 0 % 7 − 3
    }

    [Fact]
    public void A_large_matrix_is_downsampled_to_fit_and_says_so()
    {
        int rows = 3000, cols = 700;
        var m = Seq(rows * cols, i => (i % cols) - 350f);
        var t = TensorImageLayout.Render(m, [rows, cols], new TensorImageOptions { MaxSize = 256, Reduce = ReduceMethod.Mean });
        Assert.Equal((12, 3), (t.RowFactor, t.ColFactor));
        Assert.Equal((234, 250), (t.Width, t.Height));
        Assert.True(t.Downsampled);
        Assert.Equal("mean", t.MethodName);
        Assert.Contains("downsampled 12×3", t.Note);
    }

    [Fact]
    public void Vectors_become_strips_and_size_one_dims_are_squeezed()
    {
        var t = TensorImageLayout.Render(Seq(768, i => i - 384), [1, 768]);
        Assert.Equal("strip", t.Layout);
        Assert.Equal((1, 2), (t.RowFactor, t.ColFactor));
        Assert.Equal(384, t.Width);
        Assert.Equal(16, t.Height);
        Assert.Equal([768L], t.Shape);
        var small = TensorImageLayout.Render(Seq(4, i => i), [4]);
        Assert.Equal((256, 64), (small.Width, small.Height));   // 64 px a value at most
        // A very long vector is reduced a chunk at a time.
        var big = TensorImageLayout.Render(Seq(3_000_001, i => i == 2_999_999 ? -1e6f : i % 3), [3_000_001]);
        Assert.Equal(Downsample.Factor(3_000_001, 512), big.ColFactor);
        Assert.Equal(-1e6f, big.Scale.Min);
    }

    [Fact]
    public void Conv_kernels_form_an_out_by_in_grid_with_gaps()
    {
        // [out 6, in 3, 5, 5]: value = o·100 + i·10 + position sign.
        var w = Seq(6 * 3 * 25, k => (k / 75) * 100 + (k / 25 % 3) * 10 + (k % 2 == 0 ? 1 : -1));
        var t = TensorImageLayout.Render(w, [6, 3, 5, 5], new TensorImageOptions { Gap = 1 });
        Assert.Equal("grid", t.Layout);
        var g = t.Grid!;
        Assert.Equal((18, 18, 6, 3, 5, 5, "out×in"), (g.Slices, g.Shown, g.GridRows, g.GridCols, g.SliceRows, g.SliceCols, g.Arrangement));
        Assert.Equal(t.PixelScaleX * 5, g.CellWidth);
        Assert.Equal(2, g.Gap);                                      // 1 px widened for 16× cells
        Assert.Equal(3 * g.CellWidth + 2 * g.Gap, t.Width);
        Assert.Equal(6 * g.CellHeight + 5 * g.Gap, t.Height);
        Assert.True(t.Width <= 512 && t.Height <= 512);
        // Gap pixels are transparent; cell (o=2, i=1) top-left shows value 2·100 + 10 + 1.
        Assert.Equal(Rgba.Transparent, t.Image[g.CellWidth, 0]);
        var x = 1 * (g.CellWidth + g.Gap); var y = 2 * (g.CellHeight + g.Gap);
        Assert.Equal(Colormap.RdBu.Map(211f, t.Scale.Low, t.Scale.High), t.Image[x, y]);
        Assert.Null(t.Note);
    }

    [Fact]
    public void Huge_kernel_banks_are_capped_and_the_result_says_how_many_are_shown()
    {
        var shape = new long[] { 512, 256, 3, 3 };
        long reads = 0;
        var t = TensorImageLayout.Render((start, dst) => { reads += dst.Length; dst.Fill(start % 2 == 0 ? 1 : -1); }, shape,
            new TensorImageOptions { MaxSlices = 1024 });
        var g = t.Grid!;
        Assert.Equal(512 * 256, g.Slices);
        Assert.Equal(g.GridRows * g.GridCols, g.Shown);
        Assert.True(g.Shown <= 1024);
        Assert.Equal((1, 1), (t.RowFactor, t.ColFactor));            // 3×3 kernels keep their pixels
        Assert.Contains("showing", t.Note);
        Assert.Equal(g.Shown * 9L, reads);                           // only what is shown was read
        Assert.True(t.Width <= 512 && t.Height <= 512);
    }

    [Fact]
    public void Big_slices_are_downsampled_to_share_the_image()
    {
        // 12 heads of 300×300: a near-square grid, each slice reduced.
        var a = Seq(12 * 300 * 300, i => (i / 90000) + 1f);
        var t = TensorImageLayout.Render(a, [12, 300, 300], new TensorImageOptions { Colormap = "viridis" });
        var g = t.Grid!;
        Assert.Equal((12, 12, "sequential"), (g.Slices, g.Shown, g.Arrangement));
        Assert.Equal(12, g.GridRows * g.GridCols - (g.GridRows * g.GridCols - 12));
        Assert.True(t.Downsampled);
        Assert.True(t.Width <= 512 && t.Height <= 512);
        Assert.Equal((1f, 12f), (t.Scale.Low, t.Scale.High));
        Assert.Equal(Colormap.Viridis[0], t.Image[0, 0]);
    }

    [Fact]
    public void Sprite_sheet_places_cells_on_a_known_grid()
    {
        var maps = Enumerable.Range(0, 12).Select(k => Seq(16, i => k)).ToList();
        var sheet = SpriteSheet.FromMaps(maps, 4, 4, ColorScale.Fixed(0, 11, "magma"), columns: 4, pixelScale: 3, gap: 2, padding: 1);
        Assert.Equal((4, 3, 12, 12), (sheet.Columns, sheet.Rows, sheet.CellWidth, sheet.CellHeight));
        Assert.Equal((2 + 4 * 12 + 3 * 2, 2 + 3 * 12 + 2 * 2), (sheet.Width, sheet.Height));
        var cell = sheet.Cell(6);
        Assert.Equal(new SpriteCell(6, 1, 2, 1 + 2 * 14, 1 + 14, 12, 12), cell);
        Assert.Equal(Colormap.Magma.Map(6f, 0, 11), sheet.Image[cell.X + 11, cell.Y + 11]);
        Assert.Equal(Rgba.Transparent, sheet.Image[cell.X + 12, cell.Y]);
        Assert.Equal(6, sheet.HitTest(cell.X + 5, cell.Y + 5));
        Assert.Equal(-1, sheet.HitTest(cell.X + 12, cell.Y));
        Assert.Equal(sheet.Image.Pixels, SkiaPng.Decode(sheet.ToPng()).Rgba);
    }
}
