namespace ModelVis.Render;

/// <summary>Copies <c>destination.Length</c> consecutive elements of a tensor, starting at flat index
/// <paramref name="start"/>, widened to float (e.g. <c>(s, d) => ckpt.ReadFloats(info, s, d)</c>).</summary>
public delegate void FloatSource(long start, Span<float> destination);

public sealed record TensorImageOptions
{
    /// <summary>Neither side of the image exceeds this many pixels.</summary>
    public int MaxSize { get; init; } = 512;
    public ReduceMethod Reduce { get; init; } = ReduceMethod.MaxAbs;
    /// <summary>rdbu (diverging, symmetric about zero), viridis, magma or gray.</summary>
    public string Colormap { get; init; } = "rdbu";
    /// <summary>Percentile of |x| (diverging) or upper percentile (sequential) for the colour range; 100 = the extremes.</summary>
    public double Percentile { get; init; } = 100;
    /// <summary>Fixed ±limit for a diverging map (e.g. max |x| from the tensor's statistics) instead of one computed from the drawn values.</summary>
    public float? Limit { get; init; }
    /// <summary>Fixed range for a sequential map.</summary>
    public float? Low { get; init; }
    public float? High { get; init; }
    /// <summary>At most this many 2-D slices in a grid; the result says how many were shown.</summary>
    public int MaxSlices { get; init; } = 1024;
    /// <summary>Pixels between grid cells, drawn in <see cref="Background"/>; multiplied by scale/8 when cells are enlarged 8× or more.</summary>
    public int Gap { get; init; } = 1;
    /// <summary>Background behind gaps; transparent so the webview theme shows through.</summary>
    public Rgba Background { get; init; } = Rgba.Transparent;
    /// <summary>A side thinner than this (a 1-D strip, a 2 × 4000 matrix) is stretched to it by an integer factor.</summary>
    public int MinExtent { get; init; } = 16;
    /// <summary>Largest nearest-neighbour enlargement of a small matrix or slice.</summary>
    public int MaxPixelScale { get; init; } = 64;
    public PngEncodeOptions? Png { get; init; }

    public static TensorImageOptions Default { get; } = new();
}

/// <summary>Grid of 2-D slices (3-D and 4-D tensors). Slice (gridRow, gridCol) has its top-left pixel at
/// (gridCol × (CellWidth + Gap), gridRow × (CellHeight + Gap)).</summary>
public sealed record TensorGrid(int Slices, int Shown, int GridRows, int GridCols, int SliceRows, int SliceCols, int CellWidth, int CellHeight, int Gap,
    /// <summary>"out×in" when rows are dim 0 and columns dim 1 of a 4-D tensor; "sequential" when slices run row-major.</summary>
    string Arrangement);

/// <summary>The picture of one tensor, with what was done to it.</summary>
public sealed record TensorImage
{
    public required RgbaImage Image { get; init; }
    public required byte[] Png { get; init; }
    public int Width => Image.Width;
    public int Height => Image.Height;
    /// <summary>"matrix", "strip" or "grid".</summary>
    public required string Layout { get; init; }
    /// <summary>The shape with size-1 dimensions removed (what the layout was chosen from).</summary>
    public required long[] Shape { get; init; }
    /// <summary>The 2-D view before downsampling (a slice's size for grids).</summary>
    public required int SourceRows { get; init; }
    public required int SourceCols { get; init; }
    public required int RowFactor { get; init; }
    public required int ColFactor { get; init; }
    public required ReduceMethod Method { get; init; }
    public bool Downsampled => RowFactor > 1 || ColFactor > 1;
    public string MethodName => Render.Downsampled.MethodName(Method);
    /// <summary>Nearest-neighbour enlargement (pixels per value) on each axis.</summary>
    public required int PixelScaleX { get; init; }
    public required int PixelScaleY { get; init; }
    public TensorGrid? Grid { get; init; }
    public required ColorScale Scale { get; init; }
    /// <summary>The values drawn (after block reduction), [SourceRows / RowFactor, SourceCols / ColFactor] row-major, for a
    /// matrix or strip (a read-out under the pointer); null for grids.</summary>
    public float[]? Values { get; init; }
    public int ValueRows { get; init; }
    public int ValueCols { get; init; }
    /// <summary>For people: e.g. "downsampled 4×8 (max-abs); showing 1,024 of 262,144 slices".</summary>
    public string? Note { get; init; }
    public string PngBase64 => Convert.ToBase64String(Png);
}

/// <summary>
/// Chooses how a tensor of any rank is drawn and draws it: 1-D → strip, 2-D → matrix, 3-D and more →
/// grid of 2-D slices over the last two dimensions (4-D [out, in, kh, kw] as out rows × in columns) with
/// gaps. Large views are block-reduced, small ones enlarged by integer factors, to fit MaxSize.
/// </summary>
public static class TensorImageLayout
{
    public static TensorImage Render(float[] data, IReadOnlyList<long> shape, TensorImageOptions? options = null) =>
        Render(new ReadOnlyMemory<float>(data), shape, options);

    public static TensorImage Render(ReadOnlyMemory<float> data, IReadOnlyList<long> shape, TensorImageOptions? options = null)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != data.Length) throw new ArgumentException($"{data.Length} values do not fill shape [{string.Join(", ", shape)}]");
        return Render((start, dst) => data.Span.Slice((int)start, dst.Length).CopyTo(dst), shape, options);
    }

    /// <summary>Draws a tensor read piecewise from <paramref name="source"/>: only what is shown is read,
    /// a chunk of rows at a time, so tensors larger than memory work.</summary>
    public static TensorImage Render(FloatSource source, IReadOnlyList<long> shape, TensorImageOptions? options = null)
    {
        options ??= TensorImageOptions.Default;
        if (options.MaxSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxSize must be positive");
        foreach (var d in shape)
            if (d <= 0) throw new ArgumentException($"shape [{string.Join(", ", shape)}] is empty; nothing to draw");
        var squeezed = shape.Where(d => d != 1).ToArray();
        if (squeezed.Length == 0) squeezed = [1];
        return squeezed.Length switch
        {
            1 => RenderMatrix(source, 1, checked((int)squeezed[0]), squeezed, "strip", options),
            2 => RenderMatrix(source, checked((int)squeezed[0]), checked((int)squeezed[1]), squeezed, "matrix", options),
            _ => RenderGrid(source, squeezed, options),
        };
    }

    static TensorImage RenderMatrix(FloatSource source, int rows, int cols, long[] shape, string layout, TensorImageOptions o)
    {
        int rf = Downsample.Factor(rows, o.MaxSize), cf = Downsample.Factor(cols, o.MaxSize);
        var reduced = ReduceMatrix(source, 0, rows, cols, rf, cf, o.Reduce);
        var (sx, sy) = PixelScale(reduced.Rows, reduced.Cols, reduced.IsReduced, o.MaxSize, o.MaxSize, o);
        var scale = ScaleFor(reduced.Values, o);
        var image = Heatmap.Render(reduced.Values, reduced.Rows, reduced.Cols, scale, sx, sy);
        return new TensorImage
        {
            Image = image, Png = image.ToPng(o.Png), Layout = layout, Shape = shape,
            SourceRows = rows, SourceCols = cols, RowFactor = rf, ColFactor = cf, Method = o.Reduce,
            PixelScaleX = sx, PixelScaleY = sy, Scale = scale,
            Values = reduced.Values, ValueRows = reduced.Rows, ValueCols = reduced.Cols,
            Note = reduced.IsReduced ? $"downsampled {rf}×{cf} ({Describe(o.Reduce)})" : null,
        };
    }

    static TensorImage RenderGrid(FloatSource source, long[] shape, TensorImageOptions o)
    {
        int sliceRows = checked((int)shape[^2]), sliceCols = checked((int)shape[^1]);
        long sliceSize = (long)sliceRows * sliceCols;
        long slices = 1;
        for (int i = 0; i < shape.Length - 2; i++) slices *= shape[i];
        int g = Math.Max(0, o.Gap), m = o.MaxSize;

        // How many cells fit across and down with each slice at least min(side, 8) pixels.
        int gcMax = Math.Max(1, (m + g) / (Math.Min(sliceCols, 8) + g));
        int grMax = Math.Max(1, (m + g) / (Math.Min(sliceRows, 8) + g));
        int cap = Math.Max(1, o.MaxSlices);
        bool outByIn = shape.Length == 4;
        int gr, gc;
        if (outByIn)
        {
            gc = (int)Math.Min(shape[1], gcMax);
            gr = (int)Math.Min(shape[0], grMax);
            while ((long)gr * gc > cap) { if (gc >= gr) gc--; else gr--; }
        }
        else
        {
            int gc0 = (int)Math.Clamp(Math.Round(Math.Sqrt(slices * (double)sliceRows / sliceCols)), 1, Math.Min(slices, int.MaxValue));
            gc = Math.Min(gc0, gcMax);
            gr = (int)Math.Min((slices + gc - 1) / gc, grMax);
            while ((long)gr * gc > cap) { if (gr > 1) gr--; else gc--; }
        }
        int shown = outByIn ? gr * gc : (int)Math.Min(slices, (long)gr * gc);
        if (!outByIn) gr = (shown + gc - 1) / gc;

        int bw = Math.Max(1, (m - (gc - 1) * g) / gc), bh = Math.Max(1, (m - (gr - 1) * g) / gr);
        int cf = Downsample.Factor(sliceCols, bw), rf = Downsample.Factor(sliceRows, bh);
        int outCols = (sliceCols + cf - 1) / cf, outRows = (sliceRows + rf - 1) / rf;
        var (sx, sy) = PixelScale(outRows, outCols, rf > 1 || cf > 1, bw, bh, o with { MinExtent = Math.Min(o.MinExtent, 8) });

        // Thin gaps vanish between big enlarged cells: widen them with the enlargement, keeping the image within MaxSize.
        if (g > 0 && sx == sy && sx >= 8)
        {
            while (true)
            {
                int g2 = g * (sx / 8);
                if (gc * outCols * sx + (gc - 1) * g2 <= m && gr * outRows * sy + (gr - 1) * g2 <= m || sx == 1) { g = Math.Max(g, g2); break; }
                sx--; sy--;
            }
        }

        var cells = new float[shown][];
        var all = new float[(long)shown * outRows * outCols];
        for (int k = 0; k < shown; k++)
        {
            long index = outByIn ? (k / gc) * shape[1] + (k % gc) : k;
            var reduced = ReduceMatrix(source, index * sliceSize, sliceRows, sliceCols, rf, cf, o.Reduce);
            cells[k] = reduced.Values;
            reduced.Values.CopyTo(all, (long)k * outRows * outCols);
        }
        var scale = ScaleFor(all, o);
        int cw = outCols * sx, ch = outRows * sy;
        var image = new RgbaImage(gc * cw + (gc - 1) * g, gr * ch + (gr - 1) * g, o.Background);
        var map = scale.Map;
        for (int k = 0; k < shown; k++)
            Heatmap.Draw(image, (k % gc) * (cw + g), (k / gc) * (ch + g), cells[k], outRows, outCols, map, scale.Low, scale.High, sx, sy);

        var notes = new List<string>();
        if (rf > 1 || cf > 1) notes.Add($"slices downsampled {rf}×{cf} ({Describe(o.Reduce)})");
        if (shown < slices)
            notes.Add(outByIn
                ? $"showing {gr:N0} of {shape[0]:N0} × {gc:N0} of {shape[1]:N0} kernels"
                : $"showing {shown:N0} of {slices:N0} slices");
        return new TensorImage
        {
            Image = image, Png = image.ToPng(o.Png), Layout = "grid", Shape = shape,
            SourceRows = sliceRows, SourceCols = sliceCols, RowFactor = rf, ColFactor = cf, Method = o.Reduce,
            PixelScaleX = sx, PixelScaleY = sy, Scale = scale,
            Grid = new TensorGrid(checked((int)Math.Min(slices, int.MaxValue)), shown, gr, gc, sliceRows, sliceCols, cw, ch, g, outByIn ? "out×in" : "sequential"),
            Note = notes.Count > 0 ? string.Join("; ", notes) : null,
        };
    }

    static string Describe(ReduceMethod m) => m == ReduceMethod.Mean ? "block mean" : "block max-abs";

    /// <summary>Integer enlargement: uniform, as large as fits (when nothing was reduced), then a thin side
    /// is stretched alone up to MinExtent.</summary>
    static (int Sx, int Sy) PixelScale(int rows, int cols, bool reduced, int maxW, int maxH, TensorImageOptions o)
    {
        int s = reduced ? 1 : Math.Clamp(Math.Min(maxW / cols, maxH / rows), 1, Math.Max(1, o.MaxPixelScale));
        int sx = s, sy = s;
        if (rows * sy < o.MinExtent) sy = Math.Max(sy, Math.Min((o.MinExtent + rows - 1) / rows, Math.Max(1, maxH / rows)));
        if (cols * sx < o.MinExtent) sx = Math.Max(sx, Math.Min((o.MinExtent + cols - 1) / cols, Math.Max(1, maxW / cols)));
        return (sx, sy);
    }

    static ColorScale ScaleFor(ReadOnlySpan<float> values, TensorImageOptions o)
    {
        var map = Colormap.Get(o.Colormap);
        if (map.IsDiverging)
        {
            if (o.Limit is float limit)
            {
                var (min, max) = ColorScale.FiniteMinMax(values);
                return ColorScale.Symmetric(limit, min, max, map.Name);
            }
            return ColorScale.Diverging(values, o.Percentile, map.Name);
        }
        var s = ColorScale.Sequential(values, map.Name, o.Percentile >= 100 ? 0 : 100 - o.Percentile, o.Percentile);
        if (o.Low is float lo) s = s with { Low = lo };
        if (o.High is float hi) s = s with { High = hi };
        return s;
    }

    /// <summary>Reads a rows × cols matrix at flat offset <paramref name="offset"/> in chunks of whole rows and block-reduces it.</summary>
    public static Downsampled ReduceMatrix(FloatSource source, long offset, int rows, int cols, int rowFactor, int colFactor, ReduceMethod method)
    {
        if (rows == 1 && colFactor > 1) return ReduceStrip(source, offset, cols, colFactor, method);
        const int chunkValues = 1 << 20;
        int rowsPerChunk = Math.Max(1, chunkValues / cols);
        if (rowFactor > 1) rowsPerChunk = Math.Max(rowFactor, rowsPerChunk / rowFactor * rowFactor);
        rowsPerChunk = Math.Min(rowsPerChunk, rows);
        var buffer = new float[(long)rowsPerChunk * cols];
        if (rowFactor == 1 && colFactor == 1 && rowsPerChunk == rows)
        {
            source(offset, buffer);
            return new Downsampled(buffer, rows, cols, rows, cols, 1, 1, method);
        }
        var reducer = new BlockReducer(rows, cols, rowFactor, colFactor, method);
        for (int r = 0; r < rows; r += rowsPerChunk)
        {
            int n = Math.Min(rowsPerChunk, rows - r);
            var chunk = buffer.AsSpan(0, n * cols);
            source(offset + (long)r * cols, chunk);
            reducer.AddRows(chunk);
        }
        return reducer.Result();
    }

    // A single long row: reduce it a chunk of whole blocks at a time, never holding the row.
    static Downsampled ReduceStrip(FloatSource source, long offset, int cols, int cf, ReduceMethod method)
    {
        int outCols = (cols + cf - 1) / cf;
        var result = new float[outCols];
        int blocksPerChunk = Math.Max(1, (1 << 20) / cf);
        var buffer = new float[Math.Min((long)blocksPerChunk * cf, cols)];
        for (int b0 = 0; b0 < outCols; b0 += blocksPerChunk)
        {
            long start = (long)b0 * cf;
            int n = (int)Math.Min(buffer.Length, cols - start);
            var chunk = buffer.AsSpan(0, n);
            source(offset + start, chunk);
            var part = Downsample.ReduceBy(chunk, 1, n, 1, cf, method);
            part.Values.CopyTo(result, b0);
        }
        return new Downsampled(result, 1, outCols, 1, cols, 1, cf, method);
    }
}
