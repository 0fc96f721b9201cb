using System.Diagnostics;
using ModelVis.Checkpoints;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Vision.Graph;
using ModelVis.Vision.Onnx;
using ModelVis.Vision.Images;
using ModelVis.Vision.Ops;
using ModelVis.Vision.Sidecar;
using ModelVis.Vision.Torchvision;

namespace ModelVis.Vision;

/// <summary>
/// A CNN ready to run on pictures: an ONNX model (the graph is the architecture), a PyTorch state dict (or any
/// checkpoint) with an architecture sidecar, or a state dict of a recognised torchvision architecture.
/// Thread-safe: runs share only read-only weights.
/// </summary>
public sealed class VisionModel
{
    public string Path { get; }
    public VisionGraph Graph { get; }
    /// <summary>How images are turned into input when the user has not said otherwise.</summary>
    public Preprocessing DefaultPreprocessing => Preprocessing.Value;
    /// <summary>The default preprocessing, where it was read from, and whether it is a guess.</summary>
    public ResolvedPreprocessing Preprocessing { get; }
    public IReadOnlyList<string>? Labels { get; }
    /// <summary>"onnx", "state-dict+sidecar" or "state-dict+recognised".</summary>
    public string Kind { get; }
    /// <summary>The recognised architecture's name ("ResNet-50"), for state dicts opened without a sidecar.</summary>
    public string? Architecture { get; }
    readonly GraphRunner _runner;

    VisionModel(string path, string kind, VisionGraph graph, ResolvedPreprocessing preprocessing, IReadOnlyList<string>? labels, string? architecture = null)
    {
        Path = path; Kind = kind; Graph = graph; Labels = labels; Architecture = architecture;
        _runner = new GraphRunner(graph);
        Preprocessing = preprocessing;
    }

    /// <summary>
    /// Opens a model. <c>.onnx</c> files carry their graph; anything else is opened with <see cref="CheckpointLoader"/>
    /// and needs a sidecar (<paramref name="archPath"/>, or <c>NAME.arch.json</c> beside <c>NAME.pth</c>) unless its
    /// tensors are one of the recognised torchvision architectures (a sidecar without "layers" then gives only the
    /// preprocessing and labels). A sidecar beside an ONNX model (or given for one)
    /// supplies its input preprocessing and labels only.
    /// </summary>
    public static VisionModel Open(string modelPath, string? archPath = null)
    {
        if (!File.Exists(modelPath)) throw new VisionException($"{modelPath}: no such file");
        archPath ??= ArchitectureSidecar.FindBeside(modelPath);
        if (archPath != null && !File.Exists(archPath)) throw new VisionException($"{archPath}: no such architecture file");
        var sidecar = archPath != null ? ArchitectureSidecar.Load(archPath) : null;
        var labels = sidecar?.Labels ?? ReadLabelsBeside(modelPath);
        string file = System.IO.Path.GetFileName(modelPath);
        if (System.IO.Path.GetExtension(modelPath).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            OnnxModel onnx;
            try { onnx = OnnxModel.Load(modelPath); }
            catch (OnnxFormatException e) { throw new VisionException(e.Message, e); }
            var graph = OnnxImport.ToGraph(onnx);
            var guess = DefaultsFromShape(graph.InputShape);
            var metadata = OnnxPreprocessing.Read(onnx.Metadata, guess.Value, file);
            var resolved = Resolve(modelPath, sidecar, guess.Value.Channels)
                ?? (metadata != null ? new ResolvedPreprocessing(metadata, PreprocessingSource.OnnxMetadata, $"the metadata_props of {file}", false) : guess);
            return new VisionModel(modelPath, "onnx", graph, resolved, labels);
        }
        using var weights = CheckpointLoader.Open(modelPath);
        // No sidecar, or one with only "input"/"labels": the architecture is recognised from the tensors.
        if (sidecar == null || sidecar.Layers.Count == 0)
        {
            var recognised = Recognition.Recognise(Recognition.ShapesOf(weights), out var reasons)
                ?? throw new VisionException($"{file} holds weights but no architecture{(sidecar != null ? $" ({System.IO.Path.GetFileName(sidecar.Path)} has no \"layers\")" : "")}, and its tensors are none of the architectures ModelVis recognises ({Recognition.Known}). "
                    + $"Write {(sidecar != null ? "the layers into " + System.IO.Path.GetFileName(sidecar.Path) : System.IO.Path.GetFileNameWithoutExtension(modelPath) + ".arch.json beside it listing its layers")} (the \"CNN architecture sidecar\" format of the ModelVis documentation), or export the model to ONNX. "
                    + NearMiss(reasons));
            var resolvedArch = Resolve(modelPath, sidecar, recognised.InputChannels)
                ?? new ResolvedPreprocessing(recognised.Preprocessing, PreprocessingSource.Architecture, recognised.PreprocessingDetail, recognised.PreprocessingIsGuess);
            return new VisionModel(modelPath, "state-dict+recognised", recognised.Build(weights), resolvedArch, labels ?? recognised.Labels, recognised.Name);
        }
        var sidecarGraph = sidecar.Build(weights);
        int[] shape = sidecarGraph.InputShape;
        var fromShape = DefaultsFromShape(shape);
        var resolvedSidecar = Resolve(modelPath, sidecar, fromShape.Value.Channels) ?? fromShape;
        return new VisionModel(modelPath, "state-dict+sidecar", sidecarGraph, resolvedSidecar, labels);
    }

    /// <summary>An architecture whose layout the tensors almost have (a wrong shape, a tensor too many), said for the user to check.</summary>
    static string NearMiss(List<string> reasons) =>
        reasons.FirstOrDefault(r => r.Contains("does not use", StringComparison.Ordinal) || r.Contains(", expected ", StringComparison.Ordinal)) is { } near
            ? $"Nearest: {near}." : "";

    /// <summary>The preprocessing stated for the model: its sidecar's "input" block, else a preprocessor_config.json beside it.</summary>
    static ResolvedPreprocessing? Resolve(string modelPath, ArchitectureSidecar? sidecar, int channels)
    {
        if (sidecar?.Input is { } input)
            return new ResolvedPreprocessing(input, PreprocessingSource.Sidecar, $"the \"input\" block of {System.IO.Path.GetFileName(sidecar.Path)}", false);
        if (PreprocessorConfig.FindBeside(modelPath) is { } config)
        {
            var pre = PreprocessorConfig.Load(config, channels);
            return new ResolvedPreprocessing(pre, PreprocessingSource.PreprocessorConfig, $"{PreprocessorConfig.FileName} beside the model", false);
        }
        return null;
    }

    /// <summary>Nothing says how the model wants its pictures: grey 0..1 or RGB with ImageNet statistics, letterboxed, said to be a guess.</summary>
    static ResolvedPreprocessing DefaultsFromShape(int[] shape)
    {
        int channels = shape.Length == 4 && shape[1] > 0 ? shape[1] : 3;
        int h = shape.Length == 4 && shape[2] > 0 ? shape[2] : 224;
        int w = shape.Length == 4 && shape[3] > 0 ? shape[3] : 224;
        var pre = Images.Preprocessing.DefaultFor(channels, h, w);
        string why = channels == 1
            ? "nothing in or beside the model says how it was trained; grey pixels scaled to 0–1 are assumed"
            : "nothing in or beside the model says how it was trained; ImageNet mean and std are assumed";
        return new ResolvedPreprocessing(pre, PreprocessingSource.Guess, why, true);
    }

    static IReadOnlyList<string>? ReadLabelsBeside(string modelPath)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        var stem = System.IO.Path.GetFileNameWithoutExtension(modelPath);
        foreach (var name in new[] { stem + ".labels.txt", "labels.txt", "synset.txt", "classes.txt" })
        {
            var p = System.IO.Path.Combine(dir, name);
            if (File.Exists(p)) return File.ReadAllLines(p).Where(l => l.Length > 0).ToList();
        }
        return null;
    }

    /// <summary>Preprocesses a decoded picture and runs the model on it.</summary>
    public FeatureRun Run(ImagePixels image, Preprocessing? preprocessing = null, bool captureAll = true,
                          IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default)
    {
        var pre = preprocessing ?? DefaultPreprocessing;
        return Run(pre.Apply(image), pre, captureAll, progress, cancel);
    }

    /// <summary>Runs the model on an already preprocessed input [1, C, H, W].</summary>
    public FeatureRun Run(NdArray input, Preprocessing? preprocessing = null, bool captureAll = true,
                          IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default)
    {
        var expected = Graph.InputShape;
        if (expected.Length > 0)
        {
            bool fits = input.Rank == expected.Length && input.Shape.Zip(expected).All(p => p.Second < 0 || p.First == p.Second);
            if (!fits) throw new VisionException($"{System.IO.Path.GetFileName(Path)} takes input {NdArray.ShapeText(expected).Replace("-1", "any")}, got {input.ShapeString}");
        }
        var (softmaxNode, camPlan) = Analyse();
        var keep = new HashSet<string>(StringComparer.Ordinal);
        if (softmaxNode != null) keep.Add(softmaxNode.Inputs[0]);
        if (camPlan != null) keep.Add(camPlan.Value.FeatureValue);

        var clock = Stopwatch.StartNew();
        var result = _runner.Run(input, captureAll, keep, progress, cancel);
        clock.Stop();

        var all = result.Captured.ToDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
        foreach (var (k, v) in result.Outputs) all.TryAdd(k, v);
        var layers = result.Captured
            .Where(c => c.Node.OpType != "Constant" && !c.Value.IsInteger)
            .Select(c => new LayerOutput(c.Name, c.Node.Name, c.Node.OpType, DropBatch(c.Value.Shape), c.Value))
            .ToList();

        var output = result.Outputs[Graph.OutputNames[0]];
        NdArray logits = output;
        float[]? probabilities = null;
        if (softmaxNode != null && all.TryGetValue(softmaxNode.Inputs[0], out var beforeSoftmax))
        {
            logits = beforeSoftmax;
            probabilities = output.Floats;
        }
        bool classifier = logits.Rank == 2 && logits.Shape[0] == 1 || logits.Rank == 1;
        var top5 = new List<ClassScore>();
        if (classifier)
        {
            var l = logits.Floats;
            probabilities ??= Normalization.Softmax(NdArray.Of(l, 1, l.Length), 1, coerceTo2D: false).Floats;
            var p = probabilities;
            top5 = Enumerable.Range(0, l.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(5)
                .Select(i => new ClassScore(i, p[i], l[i], Labels != null && i < Labels.Count ? Labels[i] : null)).ToList();
        }
        else probabilities = null;

        CamSource? cam = null;
        if (camPlan is { } plan && classifier && all.TryGetValue(plan.FeatureValue, out var features) && features.Rank == 4 && features.Shape[0] == 1
            && plan.Weights.Length == features.Shape[1] * plan.Classes)
            cam = new CamSource(plan.FeatureValue, features, plan.Weights, plan.Classes);

        return new FeatureRun
        {
            Input = input,
            Preprocessing = preprocessing ?? DefaultPreprocessing,
            Layers = layers,
            Outputs = result.Outputs,
            Logits = logits,
            Probabilities = probabilities,
            Top5 = top5,
            Cam = cam,
            Elapsed = clock.Elapsed,
        };
    }

    /// <summary>The first convolution's filters [M, C/groups, kH, kW] (what the first layer looks for), or null.</summary>
    public (string NodeName, NdArray Weights)? FirstConvKernels()
    {
        foreach (var node in _runner.Order)
            if (node.OpType == "Conv" && node.Inputs.Length > 1 && Graph.Constants.TryGetValue(node.Inputs[1], out var w) && w.Rank == 4)
                return (node.Name, w);
        return null;
    }

    static int[] DropBatch(int[] shape) => shape.Length >= 2 && shape[0] == 1 ? shape[1..] : shape;

    (VisionNode? Softmax, (string FeatureValue, float[] Weights, int Classes)? Cam) Analyse()
    {
        var producer = new Dictionary<string, VisionNode>(StringComparer.Ordinal);
        foreach (var n in Graph.Nodes) foreach (var o in n.Outputs) producer[o] = n;
        if (Graph.OutputNames.Count == 0 || !producer.TryGetValue(Graph.OutputNames[0], out var last)) return (null, null);
        VisionNode? softmax = null;
        if (last.OpType == "Softmax")
        {
            softmax = last;
            if (!producer.TryGetValue(last.Inputs[0], out last!)) return (softmax, null);
        }
        return (softmax, CamPlan(last, producer));
    }

    /// <summary>Recognises "global average pool → (flatten/reshape) → linear" at the end of the network.</summary>
    (string, float[], int)? CamPlan(VisionNode linear, Dictionary<string, VisionNode> producer)
    {
        if (linear.OpType is not ("Gemm" or "MatMul") || linear.Inputs.Length < 2) return null;
        if (!Graph.Constants.TryGetValue(linear.Inputs[1], out var w) || w.Rank != 2) return null;
        if (linear.OpType == "Gemm" && (linear.Int("transA", 0) != 0)) return null;
        var node = producer.GetValueOrDefault(linear.Inputs[0]);
        while (node is { OpType: "Flatten" or "Reshape" or "Squeeze" or "Identity" or "Dropout" })
            node = producer.GetValueOrDefault(node.Inputs[0]);
        if (node is not { OpType: "GlobalAveragePool" }) return null;
        bool transB = linear.OpType == "Gemm" && linear.Int("transB", 0) != 0;
        // Class weights as [classes, K].
        var weights = transB ? w.Floats : Linear.Transpose2D(w.Floats, w.Shape[0], w.Shape[1]);
        int classes = transB ? w.Shape[0] : w.Shape[1];
        float alpha = linear.OpType == "Gemm" ? linear.Float("alpha", 1f) : 1f;
        if (alpha != 1) weights = weights.Select(v => v * alpha).ToArray();
        return (node.Inputs[0], weights, classes);
    }
}
