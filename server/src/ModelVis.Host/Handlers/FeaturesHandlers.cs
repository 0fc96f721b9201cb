using ModelVis.Host.Features;
using ModelVis.Rpc;
using ModelVis.Vision;
using ModelVis.Vision.Images;

namespace ModelVis.Host.Handlers;

/// <summary>The picture: a PNG file's bytes (base64), or pixels the extension decoded (base64 RGBA8, width × height).</summary>
public sealed record FeatureImageParams(string? Png = null, string? Pixels = null, int Width = 0, int Height = 0);

/// <summary>Overrides of the model's default preprocessing (every field optional).</summary>
public sealed record PreprocessingParams(int? Width = null, int? Height = null, int? Channels = null, float[]? Mean = null, float[]? Std = null);

public sealed record FeaturesRunParams(string Model, FeatureImageParams? Image, string? ArchPath = null, PreprocessingParams? Preprocessing = null) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrWhiteSpace(Model))
            throw new RpcException(RpcErrorCodes.UserError, "No CNN model is chosen: pick an .onnx model, or a .pth/.pt state dict with its NAME.arch.json (setting modelvis.cnnModel)");
        if (!Path.IsPathFullyQualified(Model)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"model\" must be an absolute path, got \"{Model}\"");
        if (ArchPath != null && !Path.IsPathFullyQualified(ArchPath)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"archPath\" must be an absolute path, got \"{ArchPath}\"");
        if (Image is null || Image.Png is null && Image.Pixels is null)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"image\" needs \"png\" (base64 PNG file) or \"pixels\" (base64 RGBA8) with \"width\" and \"height\"");
        if (Image.Png is null && (Image.Width <= 0 || Image.Height <= 0))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"pixels\" needs a positive \"width\" and \"height\"");
    }
}

public sealed record FeatureRunIdParams(string RunId) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrEmpty(RunId)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"runId\" is required (from features/run)");
    }
}

public sealed record FeatureGridParams(string RunId, string Layer, string Scaling = "channel", bool Sort = false) : IValidatable
{
    public void Validate(string method)
    {
        new FeatureRunIdParams(RunId).Validate(method);
        if (string.IsNullOrEmpty(Layer)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"layer\" is required (a name from features/run's layers)");
        if (Scaling is not ("channel" or "layer")) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"scaling\" must be \"channel\" or \"layer\", got \"{Scaling}\"");
    }
}

public sealed record FeatureMapParams(string RunId, string Layer, int Channel) : IValidatable
{
    public void Validate(string method)
    {
        new FeatureGridParams(RunId, Layer).Validate(method);
        if (Channel < 0) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"channel\" must be 0 or more");
    }
}

public sealed record FeatureCamParams(string RunId, int? Class = null) : IValidatable
{
    public void Validate(string method)
    {
        new FeatureRunIdParams(RunId).Validate(method);
        if (Class is < 0) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"class\" must be 0 or more");
    }
}

public sealed record FeatureModelInfo(string Path, string Kind, string Name, bool HasLabels);
public sealed record FeatureTopClass(int Index, float Probability, float Logit, string? Label);
public sealed record FeatureLayerInfo(string Name, string OpType, int[] Shape, int Channels, bool IsFeatureMap);
public sealed record FeaturesRunResult(string RunId, FeatureModelInfo Model, PngDto Input, PreprocessingDto Preprocessing, int? Predicted,
    FeatureTopClass[] Top5, FeatureLayerInfo[] Layers, bool HasKernels, bool HasCam, string? CamLayer, double Milliseconds);

/// <summary>
/// The CNN feature-map panel's requests (issue 7). <c>features/run</c> runs the model once on a picture and keeps
/// every layer's output; <c>features/grid</c>, <c>features/map</c>, <c>features/kernels</c> and <c>features/cam</c>
/// draw from that run without running the model again.
/// </summary>
public sealed class FeaturesHandlers : IHandlerFamily
{
    /// <summary>Largest picture accepted as pixels (the extension decodes; the host resizes).</summary>
    public const long MaxPixels = 64L << 20;

    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<FeaturesRunParams, FeaturesRunResult>("features/run", (p, ctx) => Task.Run(() =>
        {
            var progress = ctx.AsProgress("ModelVis: CNN feature maps");
            try
            {
                var model = session.VisionModel(p.Model, p.ArchPath);
                var image = ReadImage(p.Image!);
                var pre = Apply(model.DefaultPreprocessing, p.Preprocessing);
                var run = model.Run(image, pre, captureAll: true, progress, ctx.Cancellation);
                var entry = session.AddFeatureRun(model, run);
                return new FeaturesRunResult(
                    entry.Id,
                    new FeatureModelInfo(model.Path, model.Kind, Path.GetFileName(model.Path), model.Labels != null),
                    FeatureViews.InputImage(run.Input, run.Preprocessing),
                    FeatureViews.Describe(run.Preprocessing),
                    run.PredictedClass,
                    run.Top5.Select(c => new FeatureTopClass(c.Index, c.Probability, c.Logit, c.Label)).ToArray(),
                    run.Layers.Select(l => new FeatureLayerInfo(l.Name, l.OpType, l.Shape, l.Channels, l.IsFeatureMap)).ToArray(),
                    model.FirstConvKernels() != null,
                    run.Cam != null,
                    run.Cam?.FeatureLayer,
                    Math.Round(run.Elapsed.TotalMilliseconds, 2));
            }
            finally { ctx.Progress("end"); }
        }, ctx.Cancellation));

        server.Register<FeatureGridParams, FeatureGridResult>("features/grid", (p, _) =>
            FeatureViews.Grid(session.FeatureRun(p.RunId).Run, p.Layer, p.Scaling, p.Sort));

        server.Register<FeatureMapParams, FeatureMapResult>("features/map", (p, _) =>
            FeatureViews.Map(session.FeatureRun(p.RunId).Run, p.Layer, p.Channel));

        server.Register<FeatureRunIdParams, KernelsResult>("features/kernels", (p, _) =>
            FeatureViews.Kernels(session.FeatureRun(p.RunId).Model));

        server.Register<FeatureCamParams, CamResult>("features/cam", (p, _) =>
        {
            var entry = session.FeatureRun(p.RunId);
            return FeatureViews.Cam(entry.Model, entry.Run, p.Class);
        });

        server.Register<FeatureRunIdParams, object?>("features/release", (p, _) => { session.ReleaseFeatureRun(p.RunId); return null; });
    }

    static ImagePixels ReadImage(FeatureImageParams image)
    {
        if (image.Png != null) return FeatureViews.DecodePng(FromBase64(image.Png, "png"));
        if ((long)image.Width * image.Height > MaxPixels) throw new VisionException($"image of {image.Width}×{image.Height} pixels is too large");
        var pixels = FromBase64(image.Pixels!, "pixels");
        if (pixels.Length != (long)image.Width * image.Height * 4)
            throw new VisionException($"\"pixels\" must be RGBA8: {image.Width}×{image.Height}×4 = {(long)image.Width * image.Height * 4} bytes, got {pixels.Length}");
        return new ImagePixels(image.Width, image.Height, 4, pixels);
    }

    static byte[] FromBase64(string text, string field)
    {
        try { return Convert.FromBase64String(text); }
        catch (FormatException) { throw new VisionException($"image \"{field}\" is not valid base64"); }
    }

    static Preprocessing Apply(Preprocessing pre, PreprocessingParams? p)
    {
        if (p is null) return pre;
        if (p.Channels is { } c) pre = pre with { Channels = c };
        if (p.Width is { } w) pre = pre with { Width = w };
        if (p.Height is { } h) pre = pre with { Height = h };
        if (p.Mean is { } m) pre = pre with { Mean = m };
        if (p.Std is { } s) pre = pre with { Std = s };
        pre.Validate();
        return pre;
    }
}
