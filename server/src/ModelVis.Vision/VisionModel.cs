using System.Diagnostics;
using ModelVis.Checkpoints;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Vision.Graph;
using ModelVis.Vision.Onnx;
using ModelVis.Vision.Images;
using ModelVis.Vision.Ops;
using ModelVis.Vision.Sidecar;

namespace ModelVis.Vision;

/// <summary>What runs a vision model: the interpreter where it has every operator, ONNX Runtime otherwise (Auto).</summary>
public enum VisionEngine { Auto, Interpreter, OnnxRuntime }

/// <summary>
/// A CNN ready to run on pictures: an ONNX model (the graph is the architecture), or a PyTorch state dict
/// (or any checkpoint) with an architecture sidecar. Thread-safe: runs share only read-only weights.
/// </summary>
public sealed class VisionModel
{
    public string Path { get; }
    public VisionGraph Graph { get; }
    /// <summary>How images are turned into input: from the sidecar's "input" block, else defaults from the input shape.</summary>
    public Preprocessing DefaultPreprocessing { get; }
    public IReadOnlyList<string>? Labels { get; }
    /// <summary>"onnx" or "state-dict+sidecar".</summary>
    public string Kind { get; }
    /// <summary>"interpreter" (ModelVis' own operators, which attribution differentiates) or "onnxruntime".</summary>
    public string Engine => _runner is GraphRunner ? "interpreter" : "onnxruntime";
    readonly IGraphExecutor _runner;

    VisionModel(string path, string kind, VisionGraph graph, Preprocessing? preprocessing, IReadOnlyList<string>? labels, IGraphExecutor runner)
    {
        Path = path; Kind = kind; Graph = graph; Labels = labels;
        _runner = runner;
        DefaultPreprocessing = preprocessing ?? DefaultsFromShape(graph.InputShape);
    }

    /// <summary>The interpreter when asked for or when it has every operator of the graph; ONNX Runtime otherwise.</summary>
    static IGraphExecutor ExecutorFor(string onnxPath, VisionGraph graph, VisionEngine engine) => engine switch
    {
        VisionEngine.Interpreter => new GraphRunner(graph),
        VisionEngine.OnnxRuntime => new OnnxRuntimeRunner(onnxPath, graph),
        _ => GraphRunner.Unsupported(graph).Any() ? new OnnxRuntimeRunner(onnxPath, graph) : new GraphRunner(graph),
    };

    /// <summary>
    /// Opens a model. <c>.onnx</c> files carry their graph; anything else is opened with <see cref="CheckpointLoader"/>
    /// and needs a sidecar: <paramref name="archPath"/>, or <c>NAME.arch.json</c> beside <c>NAME.pth</c>.
    /// A sidecar beside an ONNX model (or given for one) supplies its input preprocessing and labels only.
    /// </summary>
    /// <param name="engine">What runs an ONNX graph (a sidecar's graph always runs in the interpreter).</param>
    public static VisionModel Open(string modelPath, string? archPath = null, VisionEngine engine = VisionEngine.Auto)
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
            return new VisionModel(modelPath, "onnx", graph, sidecar?.Input, labels, ExecutorFor(modelPath, graph, engine));
        }
        if (sidecar == null)
            throw new VisionException($"{file} holds weights but no architecture: write {System.IO.Path.GetFileNameWithoutExtension(modelPath)}.arch.json beside it (or pass --arch FILE.json); see docs/cnn-arch-format.md");
        using var weights = CheckpointLoader.Open(modelPath);
        var built = sidecar.Build(weights);
        return new VisionModel(modelPath, "state-dict+sidecar", built, sidecar.Input, labels, new GraphRunner(built));
    }

    static Preprocessing DefaultsFromShape(int[] shape)
    {
        int channels = shape.Length == 4 && shape[1] > 0 ? shape[1] : 3;
        int h = shape.Length == 4 && shape[2] > 0 ? shape[2] : 224;
        int w = shape.Length == 4 && shape[3] > 0 ? shape[3] : 224;
        return Preprocessing.DefaultFor(channels, h, w);
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
