namespace ModelVis.Render;

/// <summary>Where cell <see cref="Index"/> lies in a sprite sheet, in pixels.</summary>
public readonly record struct SpriteCell(int Index, int Row, int Col, int X, int Y, int Width, int Height);

/// <summary>
/// Many small maps of one size in one image, on a grid with gaps, cells filled row-major: the attention
/// "model view" (layers × heads thumbnails: columns = heads) and CNN feature maps. Cell coordinates are
/// known, so the webview can hit-test and label them.
/// </summary>
public sealed class SpriteSheet
{
    public int Count { get; }
    public int Columns { get; }
    public int Rows { get; }
    public int CellWidth { get; }
    public int CellHeight { get; }
    public int Gap { get; }
    public int Padding { get; }
    public RgbaImage Image { get; }
    public int Width => Image.Width;
    public int Height => Image.Height;

    /// <param name="columns">Cells per row; 0 chooses a near-square sheet.</param>
    public SpriteSheet(int count, int cellWidth, int cellHeight, int columns = 0, int gap = 1, int padding = 0, Rgba background = default)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), "a sprite sheet needs at least one cell");
        if (cellWidth <= 0 || cellHeight <= 0) throw new ArgumentOutOfRangeException(nameof(cellWidth));
        if (gap < 0 || padding < 0) throw new ArgumentOutOfRangeException(nameof(gap));
        Count = count; CellWidth = cellWidth; CellHeight = cellHeight; Gap = gap; Padding = padding;
        Columns = columns > 0 ? Math.Min(columns, count) : NearSquareColumns(count, cellWidth, cellHeight);
        Rows = (count + Columns - 1) / Columns;
        Image = new RgbaImage(
            checked(2 * padding + Columns * cellWidth + (Columns - 1) * gap),
            checked(2 * padding + Rows * cellHeight + (Rows - 1) * gap), background);
    }

    /// <summary>Columns that make the sheet closest to square for cells of this aspect.</summary>
    public static int NearSquareColumns(int count, int cellWidth, int cellHeight) =>
        (int)Math.Clamp(Math.Round(Math.Sqrt(count * (double)cellHeight / cellWidth)), 1, count);

    public SpriteCell Cell(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"cell {index} of {Count}");
        int r = index / Columns, c = index % Columns;
        return new SpriteCell(index, r, c, Padding + c * (CellWidth + Gap), Padding + r * (CellHeight + Gap), CellWidth, CellHeight);
    }

    public IReadOnlyList<SpriteCell> Cells => Enumerable.Range(0, Count).Select(Cell).ToArray();

    /// <summary>Cell index under pixel (x, y), or −1 for gaps and padding.</summary>
    public int HitTest(int x, int y)
    {
        int px = x - Padding, py = y - Padding;
        if (px < 0 || py < 0) return -1;
        int c = px / (CellWidth + Gap), r = py / (CellHeight + Gap);
        if (c >= Columns || r >= Rows || px % (CellWidth + Gap) >= CellWidth || py % (CellHeight + Gap) >= CellHeight) return -1;
        int i = r * Columns + c;
        return i < Count ? i : -1;
    }

    /// <summary>Copies a tile into a cell (its top-left corner; a tile larger than the cell is clipped to it).</summary>
    public void Draw(int index, RgbaImage tile)
    {
        var cell = Cell(index);
        if (tile.Width <= cell.Width && tile.Height <= cell.Height) { Image.Blit(tile, cell.X, cell.Y); return; }
        var clipped = new RgbaImage(Math.Min(tile.Width, cell.Width), Math.Min(tile.Height, cell.Height));
        clipped.Blit(tile, 0, 0);
        Image.Blit(clipped, cell.X, cell.Y);
    }

    /// <summary>Draws a rows × cols map into a cell, enlarged by the largest integer factor that fits
    /// (a map larger than the cell must be downsampled first).</summary>
    public void Draw(int index, ReadOnlySpan<float> values, int rows, int cols, Colormap map, float low, float high)
    {
        var cell = Cell(index);
        if (rows > cell.Height || cols > cell.Width)
            throw new ArgumentException($"a {rows}×{cols} map does not fit a {cell.Height}×{cell.Width} cell; downsample it first");
        int s = Math.Max(1, Math.Min(cell.Width / cols, cell.Height / rows));
        Heatmap.Draw(Image, cell.X, cell.Y, values, rows, cols, map, low, high, s, s);
    }

    public byte[] ToPng(PngEncodeOptions? options = null) => Image.ToPng(options);

    /// <summary>
    /// One sheet from maps of equal size, all on one colour scale. Each map is enlarged by
    /// <paramref name="pixelScale"/> (0: the largest factor keeping the sheet within <paramref name="maxSize"/>,
    /// at least 1; maps are downsampled by block max-abs when even 1 does not fit).
    /// </summary>
    public static SpriteSheet FromMaps(IReadOnlyList<float[]> maps, int rows, int cols, ColorScale scale, int columns = 0,
        int pixelScale = 0, int maxSize = 2048, int gap = 1, int padding = 0, Rgba background = default)
    {
        if (maps.Count == 0) throw new ArgumentException("no maps");
        foreach (var m in maps)
            if (m.Length != (long)rows * cols) throw new ArgumentException($"every map must be {rows}×{cols}");
        int gc = columns > 0 ? Math.Min(columns, maps.Count) : NearSquareColumns(maps.Count, cols, rows);
        int gr = (maps.Count + gc - 1) / gc;
        int bw = Math.Max(1, (maxSize - 2 * padding - (gc - 1) * gap) / gc), bh = Math.Max(1, (maxSize - 2 * padding - (gr - 1) * gap) / gr);
        int cf = Downsample.Factor(cols, bw), rf = Downsample.Factor(rows, bh);
        int outRows = (rows + rf - 1) / rf, outCols = (cols + cf - 1) / cf;
        int s = pixelScale > 0 ? pixelScale : Math.Max(1, Math.Min(bw / outCols, bh / outRows));
        var sheet = new SpriteSheet(maps.Count, outCols * s, outRows * s, gc, gap, padding, background);
        var map = scale.Map;
        for (int i = 0; i < maps.Count; i++)
        {
            var values = rf > 1 || cf > 1 ? Downsample.ReduceBy(maps[i], rows, cols, rf, cf, ReduceMethod.MaxAbs).Values : maps[i];
            sheet.Draw(i, values, outRows, outCols, map, scale.Low, scale.High);
        }
        return sheet;
    }
}
