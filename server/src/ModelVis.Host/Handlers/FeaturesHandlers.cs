using ModelVis.Host.Features;
using ModelVis.Rpc;
using ModelVis.Vision;
using ModelVis.Vision.Images;
using ModelVis.Vision.Onnx;

namespace ModelVis.Host.Handlers;

/// <summary>The picture, decoded by the host (PNG, JPEG, GIF, WebP, BMP): a file's absolute path, or its bytes (base64).</summary>
public sealed record FeatureImageParams(string? Path = null, string? Data = null);

/// <summary>Overrides of the model's default preprocessing (every field optional): a preset's normalisation first, then each field given.</summary>
public sealed record PreprocessingParams(int? Width = null, int? Height = null, int? Channels = null, float[]? Mean = null, float[]? Std = null,
    string? Preset = null, float? PixelScale = null, string? Resize = null, string? ChannelOrder = null, float? CropFraction = null)
{
    public bool IsEmpty => this == new PreprocessingParams();
}

public sealed record FeaturesRunParams(string Model, FeatureImageParams? Image, string? ArchPath = null, PreprocessingParams? Preprocessing = null) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrWhiteSpace(Model))
            throw new RpcException(RpcErrorCodes.UserError, "No CNN model is chosen: pick an .onnx model, a torchvision .pth/.pt state dict, or a state dict with its NAME.arch.json (setting modelvis.cnnModel)");
        if (!Path.IsPathFullyQualified(Model)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"model\" must be an absolute path, got \"{Model}\"");
        if (ArchPath != null && !Path.IsPathFullyQualified(ArchPath)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"archPath\" must be an absolute path, got \"{ArchPath}\"");
        if (Image is null || (Image.Path is null) == (Image.Data is null))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"image\" needs either \"path\" (the picture file) or \"data\" (its bytes, base64)");
        if (Image.Path != null && !System.IO.Path.IsPathFullyQualified(Image.Path))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"image.path\" must be an absolute path, got \"{Image.Path}\"");
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

public sealed record FeatureGradCamParams(string RunId, string Layer, int? Class = null) : IValidatable
{
    public void Validate(string method)
    {
        new FeatureCamParams(RunId, Class).Validate(method);
        if (string.IsNullOrEmpty(Layer)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"layer\" names the layer whose maps Grad-CAM weighs");
    }
}

/// <summary><c>goal</c>: "channel" (of <c>layer</c>), "class", or "invert" (reproduce the run's picture's features at <c>layer</c>).</summary>
public sealed record FeatureVisualizeParams(string RunId, string Goal, int Index = 0, string? Layer = null, int Steps = 128, double LearningRate = 0.05,
    double Tv = 0.002, double L2 = 0.0005, int Jitter = 1, int Seed = 0, bool FromImage = false, int Every = 4) : IValidatable
{
    public void Validate(string method)
    {
        new FeatureRunIdParams(RunId).Validate(method);
        if (Goal is not ("channel" or "class" or "invert")) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"goal\" is channel, class or invert, not \"{Goal}\"");
        if (Goal != "class" && string.IsNullOrEmpty(Layer)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"layer\" names the layer to excite or invert");
        if (Steps is < 1 or > 10_000 || Every < 1 || Index < 0 || Jitter is < 0 or > 16 || LearningRate <= 0 || Tv < 0 || L2 < 0)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: steps 1..10000, every ≥ 1, index ≥ 0, jitter 0..16, learningRate > 0, tv and l2 ≥ 0");
    }
}

public sealed record FeatureVisualizeResult(int Steps, bool Stopped, double Objective, double[] Objectives, PngDto Image);

public sealed record FeatureModelInfo(string Path, string Kind, string Name, bool HasLabels, string? Architecture, string Engine);
public sealed record PresetDto(string Id, string Label);
public sealed record FeatureTopClass(int Index, float Probability, float Logit, string? Label);
public sealed record FeatureLayerInfo(string Name, string OpType, int[] Shape, int Channels, bool IsFeatureMap);
public sealed record FeaturesRunResult(string RunId, FeatureModelInfo Model, PngDto Input, PreprocessingDto Preprocessing, PreprocessingDto ModelPreprocessing,
    PresetDto[] Presets, int? Predicted, FeatureTopClass[] Top5, FeatureLayerInfo[] Layers, bool HasKernels, bool HasCam, string? CamLayer, double Milliseconds);

/// <summary>
/// The CNN feature-map panel's requests (issue 7). <c>features/run</c> runs the model once on a picture and keeps
/// every layer's output; <c>features/grid</c>, <c>features/map</c>, <c>features/kernels</c> and <c>features/cam</c>
/// draw from that run without running the model again.
/// </summary>
public sealed class FeaturesHandlers : IHandlerFamily
{
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
                var own = model.Preprocessing;
                bool userSet = p.Preprocessing is { IsEmpty: false };
                return new FeaturesRunResult(
                    entry.Id,
                    new FeatureModelInfo(model.Path, model.Kind, Path.GetFileName(model.Path), model.Labels != null, model.Architecture, model.Engine),
                    FeatureViews.InputImage(run.Input, run.Preprocessing),
                    userSet
                        ? FeatureViews.Describe(run.Preprocessing, "user", "set in the panel (remembered for this model)", false)
                        : FeatureViews.Describe(own),
                    FeatureViews.Describe(own),
                    Presets.All.Select(x => new PresetDto(x.Id, x.Label)).ToArray(),
                    run.PredictedClass,
                    run.Top5.Select(c => new FeatureTopClass(c.Index, c.Probability, c.Logit, c.Label)).ToArray(),
                    run.Layers.Select(l => new FeatureLayerInfo(l.Name, l.OpType, l.Shape, l.Channels, l.IsFeatureMap)).ToArray(),
                    model.FirstConvKernels() != null,
                    run.Cam != null,
                    run.Cam?.FeatureLayer,
                    Math.Round(run.Elapsed.TotalMilliseconds, 2));
            }
            finally { ctx.Progress("end"); }
        }, ctx.Cancellation), RequestKind.Model);

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

        server.RegisterAsync<FeatureGradCamParams, CamResult>("features/gradcam", (p, ctx) => Task.Run(() =>
        {
            var entry = session.FeatureRun(p.RunId);
            return FeatureViews.GradCam(entry.Model, entry.Run, p.Layer, p.Class, ctx.Cancellation);
        }, ctx.Cancellation));

        // Activation maximisation / feature inversion: the image as it evolves goes out as features/visualizeStep
        // notifications; $/cancelRequest is the stop button: the answer is then the image reached so far.
        server.RegisterAsync<FeatureVisualizeParams, FeatureVisualizeResult>("features/visualize", (p, ctx) => Task.Run(() =>
        {
            var entry = session.FeatureRun(p.RunId);
            var goal = p.Goal switch { "channel" => VisualizationGoal.Channel, "class" => VisualizationGoal.Class, _ => VisualizationGoal.Inversion };
            var request = new VisualizationRequest(goal, p.Layer, p.Index, goal == VisualizationGoal.Inversion || p.FromImage ? entry.Run.Input : null,
                p.Steps, p.LearningRate, p.Tv, p.L2, p.Jitter, p.Seed);
            var objectives = new List<double>();
            VisualizationStep? last = null;
            bool stopped = false;
            ctx.Progress("begin", title: "ModelVis: feature visualisation", percentage: 0);
            try
            {
                foreach (var step in FeatureVisualization.Run(entry.Model.Graph, entry.Run.Input.Shape, request, ctx.Cancellation))
                {
                    last = step;
                    objectives.Add(step.Objective);
                    if (step.Step % p.Every == 0 || step.Step == p.Steps)
                        _ = server.NotifyAsync("features/visualizeStep", new
                        {
                            runId = p.RunId, step = step.Step, steps = p.Steps, objective = step.Objective,
                            image = FeatureViews.OptimisedImage(step.Image, entry.Run.Preprocessing),
                        });
                    ctx.Progress("report", $"step {step.Step}/{p.Steps}", 100 * step.Step / p.Steps);
                }
            }
            catch (OperationCanceledException) when (last is not null) { stopped = true; }
            finally { ctx.Progress("end"); }
            if (last is null) throw new OperationCanceledException(ctx.Cancellation);
            return new FeatureVisualizeResult(last.Step, stopped, last.Objective, objectives.ToArray(), FeatureViews.OptimisedImage(last.Image, entry.Run.Preprocessing));
        }));

        server.Register<FeatureRunIdParams, object?>("features/release", (p, _) => { session.ReleaseFeatureRun(p.RunId); return null; });
    }

    static ImagePixels ReadImage(FeatureImageParams image)
    {
        if (image.Path != null) return ImageDecoder.Read(image.Path);
        byte[] bytes;
        try { bytes = Convert.FromBase64String(image.Data!); }
        catch (FormatException) { throw new VisionException("image \"data\" is not valid base64"); }
        return ImageDecoder.Decode(bytes, "the image");
    }

    static Preprocessing Apply(Preprocessing pre, PreprocessingParams? p)
    {
        if (p is null) return pre;
        if (p.Preset is { } preset) pre = Presets.Get(preset).ApplyTo(pre);
        if (p.Channels is { } c) pre = pre with { Channels = c };
        if (p.Width is { } w) pre = pre with { Width = w };
        if (p.Height is { } h) pre = pre with { Height = h };
        if (p.Mean is { } m) pre = pre with { Mean = m };
        if (p.Std is { } s) pre = pre with { Std = s };
        if (p.PixelScale is { } scale) pre = pre with { PixelScale = scale };
        if (p.Resize is { } resize) pre = pre with { Resize = OnnxPreprocessing.ParseResize(resize) };
        if (p.ChannelOrder is { } order) pre = pre with { Bgr = order.ToLowerInvariant() switch
        {
            "bgr" => true,
            "rgb" or "grey" => false,
            _ => throw new VisionException($"channel order \"{order}\" (use rgb or bgr)"),
        } };
        if (p.CropFraction is { } crop) pre = pre with { CropFraction = crop };
        pre.Validate();
        return pre;
    }
}
