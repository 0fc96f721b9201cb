using ModelVis.Vision.Graph;

namespace ModelVis.Vision.Torchvision;

/// <summary>The state dict does not have the layout an architecture expects (a key is missing or a shape differs).</summary>
public sealed class LayoutMismatch(string message) : Exception(message);

/// <summary>
/// Writes a PyTorch module tree as graph nodes, one method per module kind, reading each module's parameters
/// from the state dict under its prefix (<c>layer1.0.conv1</c> → <c>layer1.0.conv1.weight</c>). It works on the
/// tensor names and shapes only, so an architecture can be tried against a state dict without reading any
/// weights: a missing key or a wrong shape is a <see cref="LayoutMismatch"/>, and <see cref="Finish"/> checks
/// that every tensor was used. Node outputs are named after the PyTorch modules, so the panel shows those names.
/// </summary>
public sealed class GraphBuilder
{
    public const string Input = "input";
    readonly IReadOnlyDictionary<string, int[]> _shapes;
    readonly List<VisionNode> _nodes = [];
    readonly HashSet<string> _used = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _channels = new(StringComparer.Ordinal);
    readonly Dictionary<string, float> _scalars = new(StringComparer.Ordinal);

    public GraphBuilder(IReadOnlyDictionary<string, int[]> shapes, int inputChannels)
    {
        _shapes = shapes;
        _channels[Input] = inputChannels;
    }

    public int InputChannels => _channels[Input];

    public bool Has(string key) => _shapes.ContainsKey(key);

    public int[] Shape(string key) => _shapes.TryGetValue(key, out var s) ? s : throw new LayoutMismatch($"no tensor `{key}`");

    /// <summary>Channels of a value computed so far (the C of [N, C, H, W], or the features of a vector).</summary>
    public int Channels(string value) => _channels[value];

    /// <summary>Marks a parameter as used, checking its shape (-1 matches any size).</summary>
    string Param(string key, params int[] expected)
    {
        var shape = Shape(key);
        if (shape.Length != expected.Length || shape.Zip(expected).Any(p => p.Second >= 0 && p.First != p.Second))
            throw new LayoutMismatch($"`{key}` is {NdArray.ShapeText(shape)}, expected {NdArray.ShapeText(expected).Replace("-1", "any")}");
        _used.Add(key);
        return key;
    }

    string Node(string op, string name, int channels, string[] inputs, Dictionary<string, object>? attributes = null, string domain = "")
    {
        if (_channels.ContainsKey(name)) throw new InvalidOperationException($"value {name} written twice");
        _nodes.Add(new VisionNode { Name = name, OpType = op, Domain = domain, Inputs = inputs, Outputs = [name], Attributes = attributes ?? new() });
        _channels[name] = channels;
        return name;
    }

    string Scalar(string name, float value)
    {
        _scalars[name] = value;
        return name;
    }

    /// <summary><c>nn.Conv2d</c>: groups follow from the weight's input channels; padding defaults to "same" for odd kernels.</summary>
    public string Conv(string x, string prefix, int stride = 1, int? padding = null, bool bias = false)
    {
        int inC = _channels[x];
        var w = Shape(prefix + ".weight");
        if (w.Length != 4 || w[1] <= 0 || inC % w[1] != 0)
            throw new LayoutMismatch($"`{prefix}.weight` {NdArray.ShapeText(w)} does not take {inC} input channels");
        int groups = inC / w[1], outC = w[0];
        Param(prefix + ".weight", outC, w[1], w[2], w[3]);
        var inputs = new List<string> { x, prefix + ".weight" };
        if (bias) inputs.Add(Param(prefix + ".bias", outC));
        int ph = padding ?? (w[2] - 1) / 2, pw = padding ?? (w[3] - 1) / 2;
        return Node("Conv", prefix, outC, inputs.ToArray(), new()
        {
            ["kernel_shape"] = new long[] { w[2], w[3] },
            ["strides"] = new long[] { stride, stride },
            ["pads"] = new long[] { ph, pw, ph, pw },
            ["group"] = (long)groups,
        });
    }

    /// <summary><c>nn.BatchNorm2d</c> in eval mode (running statistics).</summary>
    public string BatchNorm(string x, string prefix, float eps = 1e-5f)
    {
        int c = _channels[x];
        var inputs = new[] { x, Param(prefix + ".weight", c), Param(prefix + ".bias", c), Param(prefix + ".running_mean", c), Param(prefix + ".running_var", c) };
        return Node("BatchNormalization", prefix, c, inputs, new() { ["epsilon"] = eps });
    }

    public string Relu(string x, string name) => Node("Relu", name, _channels[x], [x]);
    public string Relu6(string x, string name) => Node("Clip", name, _channels[x], [x, Scalar(name + "::min", 0f), Scalar(name + "::max", 6f)]);
    public string Sigmoid(string x, string name) => Node("Sigmoid", name, _channels[x], [x]);
    public string HardSwish(string x, string name) => Node("HardSwish", name, _channels[x], [x]);
    /// <summary>PyTorch's Hardsigmoid: relu6(x + 3) / 6.</summary>
    public string HardSigmoid(string x, string name) => Node("HardSigmoid", name, _channels[x], [x], new() { ["alpha"] = 1f / 6, ["beta"] = 0.5f });
    /// <summary>SiLU(x) = x · sigmoid(x).</summary>
    public string Silu(string x, string name) => Mul(x, Sigmoid(x, name + ".sigmoid"), name);

    public string Add(string a, string b, string name) => Node("Add", name, _channels[a], [a, b]);
    public string Mul(string a, string b, string name) => Node("Mul", name, _channels[a], [a, b]);
    public string Concat(IReadOnlyList<string> xs, string name) => Node("Concat", name, xs.Sum(x => _channels[x]), xs.ToArray(), new() { ["axis"] = 1L });

    public string MaxPool(string x, string name, int kernel, int stride, int padding = 0, bool ceil = false) =>
        Node("MaxPool", name, _channels[x], [x], Window(kernel, stride, padding, ceil));

    /// <summary><c>nn.AvgPool2d</c> (PyTorch counts padded zeros by default).</summary>
    public string AvgPool(string x, string name, int kernel, int stride, int padding = 0)
    {
        var attrs = Window(kernel, stride, padding, false);
        attrs["count_include_pad"] = 1L;
        return Node("AveragePool", name, _channels[x], [x], attrs);
    }

    static Dictionary<string, object> Window(int kernel, int stride, int padding, bool ceil) => new()
    {
        ["kernel_shape"] = new long[] { kernel, kernel },
        ["strides"] = new long[] { stride, stride },
        ["pads"] = new long[] { padding, padding, padding, padding },
        ["ceil_mode"] = ceil ? 1L : 0L,
    };

    /// <summary><c>nn.AdaptiveAvgPool2d</c>; an output of 1×1 is global average pooling.</summary>
    public string AdaptiveAvgPool(string x, string name, int size) => size == 1
        ? Node("GlobalAveragePool", name, _channels[x], [x])
        : Node("AdaptiveAveragePool", name, _channels[x], [x], new() { ["output_size"] = new long[] { size, size } }, "modelvis");

    public string Flatten(string x, string name, int featuresPerChannel = 1) =>
        Node("Flatten", name, _channels[x] * featuresPerChannel, [x], new() { ["axis"] = 1L });

    /// <summary><c>nn.Linear</c> with its bias: y = x Wᵀ + b, W stored [out, in].</summary>
    public string Linear(string x, string prefix)
    {
        var w = Shape(prefix + ".weight");
        if (w.Length != 2) throw new LayoutMismatch($"`{prefix}.weight` is {NdArray.ShapeText(w)}, not [out, in]");
        Param(prefix + ".weight", w[0], _channels[x]);
        return Node("Gemm", prefix, w[0], [x, prefix + ".weight", Param(prefix + ".bias", w[0])], new() { ["transB"] = 1L });
    }

    /// <summary>The state-dict keys the architecture did not use (buffers like <c>num_batches_tracked</c> aside).</summary>
    public IEnumerable<string> Unused => _shapes.Keys.Where(k => !_used.Contains(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));

    /// <summary>The graph, with the weights read by <paramref name="load"/>.</summary>
    public VisionGraph Finish(string output, int[] inputShape, Func<string, NdArray> load)
    {
        var constants = new Dictionary<string, NdArray>(StringComparer.Ordinal);
        foreach (var key in _used) constants[key] = load(key);
        foreach (var (name, v) in _scalars) constants[name] = NdArray.Scalar(v);
        return new VisionGraph
        {
            Nodes = _nodes,
            Constants = constants,
            InputName = Input,
            InputShape = inputShape,
            OutputNames = [output],
            Opset = 13,
        };
    }
}
