using ModelVis.Checkpoints;
using ModelVis.Render;
using ModelVis.Tensors;

namespace ModelVis.Host.Browser;

public sealed record TensorStatsDto(long Count, double Min, double Max, double Mean, double Std, long Zeros, double ZeroFraction, long Nan, long Inf);
public sealed record HistogramDto(double Min, double Max, long[] Counts);
public sealed record TensorInspection(string Name, string Dtype, long[] Shape, string File, long Parameters, bool Readable,
    string? Note = null, TensorStatsDto? Stats = null, HistogramDto? Histogram = null);

public sealed record ImageSource(long Rows, long Cols);
public sealed record ImageDownsample(int RowFactor, int ColFactor, string Method);
public sealed record ImageGrid(int Slices, int Shown, int GridRows, int GridCols, int SliceRows, int SliceCols, int CellWidth, int CellHeight, int Gap);
public sealed record ImageScale(float Min, float Max, float Low, float High, float Limit, string Colormap);
/// <param name="Values">A matrix's or strip's values as drawn (block-reduced), base64 little-endian float32 [Rows, Cols]; null for grids.</param>
public sealed record ImageValues(int Rows, int Cols, string Values);
public sealed record TensorImageDto(string Name, string Png, int Width, int Height, string Layout, long[] Shape, ImageSource Source,
    ImageDownsample? Downsample, ImageGrid? Grid, ImageScale Scale, string? Note, ImageValues? Values = null);

/// <summary>What the tensor panel and the hover show of one tensor: statistics, histogram and a heatmap.
/// Values are streamed from the checkpoint in chunks, so a tensor larger than memory is never loaded whole.</summary>
public static class TensorViews
{
    public const int ChunkElements = 1 << 20;

    public static TensorInspection Inspect(ICheckpoint ckpt, string name, int bins, CancellationToken ct = default)
    {
        var t = ckpt.Get(name);
        if (!t.DType.IsReadableAsFloat())
            return new TensorInspection(t.Name, t.DType.Name(), t.Shape, t.File, t.ElementCount, false,
                $"{t.DType.Name()} values are not shown ({DTypes.ReadableAsFloatNames} are)");
        bins = Math.Clamp(bins, 1, 4096);
        var s = Statistics.Compute(t.ElementCount, (start, dst) => ckpt.ReadFloats(t, start, dst), bins, ChunkElements, ct);
        var stats = new TensorStatsDto(s.Count, s.Min, s.Max, s.Mean, s.Std, s.Zeros, s.ZeroFraction, s.NaN, s.Inf);
        var hist = s.Histogram is { } h ? new HistogramDto(h.Min, h.Max, h.Counts) : null;
        return new TensorInspection(t.Name, t.DType.Name(), t.Shape, t.File, t.ElementCount, true, StorageNote(t), stats, hist);
    }

    /// <summary>For block-quantized tensors: that the values shown are dequantized, and from which storage type.</summary>
    static string? StorageNote(TensorInfo t) => t.DType.IsQuantized()
        ? $"{t.DType.Name()} blocks of {t.DType.Block().Elements}, dequantized to float32 for display"
        : null;

    public static (TensorImageDto Dto, byte[] Png) Image(ICheckpoint ckpt, string name, int maxSize, string? reduce, string? colormap)
    {
        var t = ckpt.Get(name);
        if (!t.DType.IsReadableAsFloat())
            throw new CheckpointException($"{Path.GetFileName(t.File)}: tensor `{t.Name}` is {t.DType.Name()}; only {DTypes.ReadableAsFloatNames} tensors are drawn");
        if (t.ElementCount == 0)
            throw new CheckpointException($"{Path.GetFileName(t.File)}: tensor `{t.Name}` has shape {t.ShapeText} with no values to draw");
        var options = new TensorImageOptions
        {
            MaxSize = Math.Clamp(maxSize, 16, 4096),
            Reduce = Downsampled.ParseMethod(reduce),
            Colormap = string.IsNullOrEmpty(colormap) ? "rdbu" : colormap,
        };
        var image = TensorImageLayout.Render((start, dst) => ckpt.ReadFloats(t, start, dst), t.Shape, options);
        var g = image.Grid;
        var dto = new TensorImageDto(t.Name, image.PngBase64, image.Width, image.Height, image.Layout, image.Shape,
            new ImageSource(image.SourceRows, image.SourceCols),
            image.Downsampled ? new ImageDownsample(image.RowFactor, image.ColFactor, image.MethodName) : null,
            g is null ? null : new ImageGrid(g.Slices, g.Shown, g.GridRows, g.GridCols, g.SliceRows, g.SliceCols, g.CellWidth, g.CellHeight, g.Gap),
            new ImageScale(image.Scale.Min, image.Scale.Max, image.Scale.Low, image.Scale.High, image.Scale.Limit, image.Scale.Colormap),
            image.Note,
            image.Values is { } v ? new ImageValues(image.ValueRows, image.ValueCols, Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()))) : null);
        return (dto, image.Png);
    }
}
