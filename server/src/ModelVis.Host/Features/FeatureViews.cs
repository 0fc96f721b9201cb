using ModelVis.Render;
using ModelVis.Vision;
using ModelVis.Vision.Images;

namespace ModelVis.Host.Features;

/// <summary>One forward pass the host keeps so the panel can ask for grids, maps, kernels and CAM without re-running.</summary>
public sealed record FeatureRunEntry(string Id, VisionModel Model, FeatureRun Run);

public sealed record PngDto(string Png, int Width, int Height);
/// <summary>A preprocessing as the panel shows it: the values, the preset they match, where they came from, whether that is a guess.</summary>
public sealed record PreprocessingDto(int Channels, int Width, int Height, float[] Mean, float[] Std, float PixelScale, string Describe,
    string Resize, string ChannelOrder, float CropFraction, string? Preset, string Source, string SourceDetail, bool Guess);
public sealed record FeatureCell(int Channel, int X, int Y, int Width, int Height);
public sealed record FeatureGridResult(string Layer, string OpType, int[] Shape, string Png, int Width, int Height, int Columns, int Rows,
    int CellWidth, int CellHeight, FeatureCell[] Cells, int[] Order, string Scaling, bool Sorted, float Low, float High, string Colormap, string Note);
public sealed record FeatureMapResult(string Layer, int Channel, string Png, int Width, int Height, int MapWidth, int MapHeight, float Min, float Max, float Mean, string Colormap);
public sealed record KernelsResult(string Node, int[] Shape, int Filters, int InChannels, string Png, int Width, int Height, int Columns, int Rows,
    int CellWidth, int CellHeight, float Limit, string Colormap, string Note);
public sealed record CamResult(int Class, string? Label, string FeatureLayer, string Png, int Width, int Height, int MapWidth, int MapHeight, float Low, float High, string Colormap, string Note);

/// <summary>Pictures of a feature run for the panel: the input as the model sees it, channel grids, one map enlarged, kernels, CAM.</summary>
public static class FeatureViews
{
    public const string MapColormap = "viridis";
    /// <summary>About how many pixels a map's longer side gets in a grid.</summary>
    public const int CellTarget = 72;

    /// <summary>The preprocessed input [1, C, H, W] turned back into pixels (x·std + mean)·scale, as a PNG.</summary>
    public static PngDto InputImage(NdArray input, Preprocessing pre) => Picture(input, pre.Bgr, (ch, x) =>
    {
        float mean = pre.Mean.Length == 1 ? pre.Mean[0] : pre.Mean[ch], std = pre.Std.Length == 1 ? pre.Std[0] : pre.Std[ch];
        return (x * std + mean) * pre.PixelScale;
    });

    /// <summary>An optimised input (feature visualisation) stretched from its own minimum to its maximum, as the literature shows them.</summary>
    public static PngDto OptimisedImage(NdArray input, Preprocessing pre)
    {
        var (low, high) = ColorScale.FiniteMinMax(input.Floats);
        float range = high > low ? high - low : 1;
        return Picture(input, pre.Bgr, (_, x) => (x - low) / range * 255);
    }

    /// <summary>[1, C, H, W] as an RGB picture (grey when C = 1; channels reversed for a BGR model), each value mapped to 0..255 by <paramref name="toPixel"/>(channel, value).</summary>
    static PngDto Picture(NdArray input, bool bgr, Func<int, float, float> toPixel)
    {
        int c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        var img = new RgbaImage(w, h);
        var x = input.Floats;
        var px = img.Pixels;
        for (int i = 0; i < h * w; i++)
        {
            for (int k = 0; k < 3; k++)
            {
                int ch = c == 1 ? 0 : bgr ? 2 - Math.Min(k, 2) : Math.Min(k, c - 1);
                float v = toPixel(ch, x[ch * h * w + i]);
                px[i * 4 + k] = (byte)Math.Clamp((int)MathF.Round(float.IsFinite(v) ? v : 0), 0, 255);
            }
            px[i * 4 + 3] = 255;
        }
        return new PngDto(Convert.ToBase64String(img.ToPng()), w, h);
    }

    public static PreprocessingDto Describe(ResolvedPreprocessing r) => Describe(r.Value, SourceName(r.Source), r.Detail, r.IsGuess);

    public static PreprocessingDto Describe(Preprocessing p, string source, string detail, bool guess) =>
        new(p.Channels, p.Width, p.Height, p.Mean, p.Std, p.PixelScale, p.Describe, p.Resize.ToString().ToLowerInvariant(),
            p.ChannelOrder.ToLowerInvariant(), p.CropFraction, Presets.Find(p)?.Id, source, detail, guess);

    static string SourceName(PreprocessingSource s) => s switch
    {
        PreprocessingSource.Sidecar => "sidecar",
        PreprocessingSource.PreprocessorConfig => "preprocessor_config.json",
        PreprocessingSource.OnnxMetadata => "onnx-metadata",
        PreprocessingSource.Architecture => "architecture",
        _ => "guess",
    };

    public static FeatureGridResult Grid(FeatureRun run, string layerName, string scaling, bool sort, int maxSize = 1024)
    {
        var layer = run.Layer(layerName);
        var grid = FeatureGrid.Prepare(layer, scaling, sort);
        // Cells of about CellTarget pixels (hard-edged enlargement), fewer when the sheet would pass maxSize.
        int columns = SpriteSheet.NearSquareColumns(grid.Maps.Count, grid.Width, grid.Height);
        int rows = (grid.Maps.Count + columns - 1) / columns;
        int fit = Math.Min((maxSize - (columns - 1)) / (columns * grid.Width), (maxSize - (rows - 1)) / (rows * grid.Height));
        int pixelScale = Math.Min(Math.Max(1, CellTarget / Math.Max(grid.Width, grid.Height)), fit);
        var sheet = SpriteSheet.FromMaps(grid.Maps, grid.Height, grid.Width, ColorScale.Fixed(grid.Low, grid.High, MapColormap), columns: columns,
            pixelScale: pixelScale >= 1 ? pixelScale : 0, maxSize: maxSize, gap: 1);
        var cells = Enumerable.Range(0, sheet.Count).Select(i =>
        {
            var cell = sheet.Cell(i);
            return new FeatureCell(grid.Order[i], cell.X, cell.Y, cell.Width, cell.Height);
        }).ToArray();
        string note = (scaling == "channel"
            ? "Each map is scaled to its own range (min → dark, max → bright)"
            : $"All maps share one scale: {grid.Low:G4} (dark) … {grid.High:G4} (bright)")
            + (sort ? "; channels sorted by mean activation, highest first." : "; channels in the layer's order.");
        return new FeatureGridResult(layer.Name, layer.OpType, layer.Shape, Convert.ToBase64String(sheet.ToPng()), sheet.Width, sheet.Height,
            sheet.Columns, sheet.Rows, sheet.CellWidth, sheet.CellHeight, cells, grid.Order, grid.Scaling, sort, grid.Low, grid.High, MapColormap, note);
    }

    /// <summary>One channel enlarged (nearest neighbour) to at least <paramref name="target"/> pixels on its longer side.</summary>
    public static FeatureMapResult Map(FeatureRun run, string layerName, int channel, int target = 256)
    {
        var layer = run.Layer(layerName);
        if (!layer.IsFeatureMap) throw new VisionException($"layer {layer.Name} has shape {NdArray.ShapeText(layer.Shape)}, not [C, H, W] feature maps");
        if ((uint)channel >= (uint)layer.Shape[0]) throw new VisionException($"channel {channel} out of range (layer {layer.Name} has {layer.Shape[0]})");
        int h = layer.Shape[1], w = layer.Shape[2];
        var values = layer.Map(channel);
        var (min, max) = ColorScale.FiniteMinMax(values);
        float mean = System.Numerics.Tensors.TensorPrimitives.Sum(values) / values.Length;
        int scale = Math.Max(1, target / Math.Max(h, w));
        var img = Heatmap.Render(values, h, w, Colormap.Get(MapColormap), min, max > min ? max : min + 1, scale, scale);
        return new FeatureMapResult(layer.Name, channel, Convert.ToBase64String(img.ToPng()), img.Width, img.Height, w, h, min, max, mean, MapColormap);
    }

    public static KernelsResult Kernels(VisionModel model)
    {
        var first = model.FirstConvKernels() ?? throw new VisionException($"{Path.GetFileName(model.Path)} has no convolution with constant weights, so there are no first-layer kernels to show");
        var (node, weights) = first;
        var grid = FeatureGrid.Kernels(weights);
        int filters = weights.Shape[0], inChannels = weights.Shape[1];
        var sheet = SpriteSheet.FromMaps(grid.Maps, grid.Height, grid.Width, ColorScale.Fixed(grid.Low, grid.High, "rdbu"),
            columns: inChannels > 1 && inChannels <= 4 ? inChannels * Math.Max(1, (int)Math.Ceiling(Math.Sqrt(filters) / inChannels * 2)) : 0,
            maxSize: 512, gap: 1);
        string note = $"{filters} filters × {inChannels} input channel{(inChannels == 1 ? "" : "s")}, {grid.Height}×{grid.Width} each, filter-major; "
            + $"one diverging scale ±{grid.High:G3} (blue negative, red positive).";
        return new KernelsResult(node, weights.Shape, filters, inChannels, Convert.ToBase64String(sheet.ToPng()), sheet.Width, sheet.Height,
            sheet.Columns, sheet.Rows, sheet.CellWidth, sheet.CellHeight, grid.High, "rdbu", note);
    }

    public static CamResult Cam(VisionModel model, FeatureRun run, int? classIndex, int target = 256)
    {
        var cam = run.Cam ?? throw new VisionException(
            $"{Path.GetFileName(model.Path)} does not end in global average pooling followed by a linear classifier, so it has no class activation map (CAM); use Grad-CAM on a chosen layer instead.");
        int cls = classIndex ?? run.PredictedClass ?? 0;
        return CamImage(model, cls, cam.FeatureLayer, cam.Map(cls), cam.Height, cam.Width, target,
            $"Σₖ w[{cls}, k] · A_k over {cam.Channels} maps of {cam.FeatureLayer} ({cam.Width}×{cam.Height}), stretched over the input.");
    }

    /// <summary>Grad-CAM of a class on a chosen layer: ReLU(Σₖ αₖ·A_k), αₖ the mean gradient of the class score over map k.</summary>
    public static CamResult GradCam(VisionModel model, FeatureRun run, string layer, int? classIndex, CancellationToken cancel = default, int target = 256)
    {
        var g = ModelVis.Vision.Graph.GradCam.Compute(model.Graph, run.Input, layer, classIndex ?? run.PredictedClass, cancel);
        return CamImage(model, g.Class, layer, g.Map, g.Height, g.Width, target,
            $"Grad-CAM: ReLU(Σₖ αₖ · A_k) over {g.ChannelWeights.Length} maps of {layer} ({g.Width}×{g.Height}), αₖ = mean of ∂(score of class {g.Class} = {g.Score:G4})/∂A_k; stretched over the input.");
    }

    static CamResult CamImage(VisionModel model, int cls, string layer, float[] map, int height, int width, int target, string note)
    {
        var (low, high) = ColorScale.FiniteMinMax(map);
        int scale = Math.Max(1, target / Math.Max(height, width));
        var img = Heatmap.Render(map, height, width, Colormap.Get("magma"), low, high > low ? high : low + 1, scale, scale);
        string? label = model.Labels != null && cls < model.Labels.Count ? model.Labels[cls] : null;
        return new CamResult(cls, label, layer, Convert.ToBase64String(img.ToPng()), img.Width, img.Height, width, height, low, high, "magma", note);
    }
}
