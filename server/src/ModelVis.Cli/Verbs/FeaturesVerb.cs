using System.CommandLine;
using ModelVis.Checkpoints;
using ModelVis.Vision;
using ModelVis.Vision.Images;
using ModelVis.Vision.Onnx;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>features</c>: runs a CNN (ONNX, or a state dict with an architecture sidecar) on a picture and writes every
/// layer's output to safetensors, named by the layer (sidecar) or the ONNX node's output, plus <c>logits</c>.
/// </summary>
static class FeaturesVerb
{
    public static Command Create()
    {
        var o = new VisionOptions();
        var output = new Option<string>("--out") { Description = "safetensors file to write", Required = true };
        var cmd = new Command("features", "Run a CNN on a picture (PNG, JPEG, GIF, WebP, BMP) and write every layer's output (and logits) to safetensors");
        o.AddTo(cmd);
        cmd.Add(output);
        cmd.SetAction(parse =>
        {
            var (model, run) = o.Run(parse);
            var outPath = parse.GetValue(output)!;
            var writer = new SafetensorsWriter()
                .AddMetadata("model", Path.GetFileName(model.Path))
                .AddMetadata("preprocessing", run.Preprocessing.Describe);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var layer in run.Layers)
                if (names.Add(layer.Name)) writer.Add(layer.Name, layer.Value.Floats, layer.Value.Shape.Select(d => (long)d).ToArray());
            if (names.Add("logits")) writer.Add("logits", run.Logits.Floats, run.Logits.Shape.Select(d => (long)d).ToArray());
            if (run.Probabilities != null && names.Add("probabilities")) writer.Add("probabilities", run.Probabilities, 1, run.Probabilities.Length);
            if (names.Add("input")) writer.Add("input", run.Input.Floats, run.Input.Shape.Select(d => (long)d).ToArray());
            writer.Save(outPath);
            CliRunner.WriteJson(Summary(model, run, outPath));
            return 0;
        });
        return cmd;
    }

    public static object Summary(VisionModel model, FeatureRun run, string outPath) => new
    {
        Out = outPath,
        Model = model.Path,
        model.Kind,
        model.Architecture,
        Preprocessing = run.Preprocessing.Describe,
        PreprocessingSource = model.Preprocessing.Source.ToString(),
        PreprocessingGuess = model.Preprocessing.IsGuess && run.Preprocessing == model.DefaultPreprocessing,
        Layers = run.Layers.Select(l => new { l.Name, l.OpType, l.Shape }).ToList(),
        Logits = run.Logits.Shape,
        Top5 = run.Top5,
        Predicted = run.PredictedClass,
        Cam = run.Cam?.FeatureLayer,
        Milliseconds = Math.Round(run.Elapsed.TotalMilliseconds, 2),
    };
}

/// <summary>The options <c>features</c> and <c>render features</c> share: model, sidecar, image, normalisation.</summary>
sealed class VisionOptions
{
    public readonly Option<string> Model = new("--model") { Description = "ONNX model, or a PyTorch state dict / safetensors with an architecture sidecar", Required = true };
    public readonly Option<string?> Arch = new("--arch") { Description = "Architecture sidecar JSON (default: NAME.arch.json beside the model); see docs/cnn-arch-format.md" };
    public readonly Option<string> Image = new("--image") { Description = "Picture: PNG, JPEG, GIF, WebP or BMP", Required = true };
    public readonly Option<string?> Mean = new("--mean") { Description = "Per-channel mean after dividing pixels by 255, e.g. 0.485,0.456,0.406 (default: from the sidecar or the model's input)" };
    public readonly Option<string?> Std = new("--std") { Description = "Per-channel standard deviation, e.g. 0.229,0.224,0.225" };
    public readonly Option<string?> Preset = new("--preset") { Description = "Normalisation preset: imagenet, mnist, minus-one-one, centred-127 or raw (--mean/--std override it)" };
    public readonly Option<string?> Resize = new("--resize") { Description = "How a picture of another shape is fitted: stretch, letterbox or crop (default: what the model says, else letterbox)" };

    public void AddTo(Command cmd)
    {
        cmd.Add(Model); cmd.Add(Arch); cmd.Add(Image); cmd.Add(Mean); cmd.Add(Std); cmd.Add(Preset); cmd.Add(Resize);
    }

    public (VisionModel Model, FeatureRun Run) Run(ParseResult parse)
    {
        var model = VisionModel.Open(Path.GetFullPath(parse.GetValue(Model)!), parse.GetValue(Arch) is { } a ? Path.GetFullPath(a) : null);
        var pre = model.DefaultPreprocessing;
        if (parse.GetValue(Preset) is { } preset) pre = Presets.Get(preset).ApplyTo(pre);
        if (parse.GetValue(Resize) is { } resize) pre = pre with { Resize = OnnxPreprocessing.ParseResize(resize) };
        if (parse.GetValue(Mean) is { } m) pre = pre with { Mean = ParseFloats(m, "--mean") };
        if (parse.GetValue(Std) is { } s) pre = pre with { Std = ParseFloats(s, "--std") };
        var image = ImageDecoder.Read(parse.GetValue(Image)!);
        var run = model.Run(image, pre, captureAll: true, CliRunner.ProgressReporter);
        return (model, run);
    }

    static float[] ParseFloats(string text, string option)
    {
        try { return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new VisionException($"{option} \"{text}\": expected numbers separated by commas"); }
    }
}
