using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Vision.Graph;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Sidecar;

/// <summary>
/// A PyTorch state dict has weights but no architecture. The sidecar (<c>docs/cnn-arch-format.md</c>) lists the
/// layers of an <c>nn.Sequential</c>-like network in order, each with its hyperparameters and the state-dict
/// prefix its parameters live under; this class binds it to a checkpoint and builds the graph.
/// </summary>
public sealed class ArchitectureSidecar
{
    public string Path { get; }
    public Preprocessing? Input { get; }
    public IReadOnlyList<string>? Labels { get; }
    public IReadOnlyList<JsonElement> Layers { get; }
    readonly JsonDocument _doc;

    ArchitectureSidecar(string path, JsonDocument doc, Preprocessing? input, IReadOnlyList<string>? labels, IReadOnlyList<JsonElement> layers)
    {
        Path = path; _doc = doc; Input = input; Labels = labels; Layers = layers;
    }

    /// <summary>The sidecar beside a model file: <c>NAME.arch.json</c> for <c>NAME.pth</c> (or .pt, .safetensors, .onnx).</summary>
    public static string? FindBeside(string modelPath)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        var stem = System.IO.Path.GetFileNameWithoutExtension(modelPath);
        var candidate = System.IO.Path.Combine(dir, stem + ".arch.json");
        return File.Exists(candidate) ? candidate : null;
    }

    public static ArchitectureSidecar Load(string path)
    {
        string file = System.IO.Path.GetFileName(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new VisionException($"{file}: not valid JSON ({e.Message})", e); }
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new VisionException($"{file}: the sidecar must be a JSON object with \"layers\"");
        Preprocessing? input = null;
        if (root.TryGetProperty("input", out var inp))
        {
            int channels = GetInt(inp, "channels", 3, file, "input");
            input = new Preprocessing(channels, GetInt(inp, "height", 224, file, "input"), GetInt(inp, "width", 224, file, "input"),
                GetFloats(inp, "mean", file) ?? (channels == 1 ? [0f] : Preprocessing.ImageNetMean),
                GetFloats(inp, "std", file) ?? (channels == 1 ? [1f] : Preprocessing.ImageNetStd),
                inp.TryGetProperty("pixel_scale", out var ps) ? ps.GetSingle() : 255f,
                inp.TryGetProperty("resize", out var rs) ? Onnx.OnnxPreprocessing.ParseResize(rs.GetString() ?? "") : ResizeMode.Stretch,
                inp.TryGetProperty("channel_order", out var co) && string.Equals(co.GetString(), "bgr", StringComparison.OrdinalIgnoreCase));
            input.Validate();
        }
        List<string>? labels = root.TryGetProperty("labels", out var lab) && lab.ValueKind == JsonValueKind.Array
            ? lab.EnumerateArray().Select(e => e.ToString()).ToList() : null;
        var layers = root.TryGetProperty("layers", out var ls) && ls.ValueKind == JsonValueKind.Array ? ls.EnumerateArray().ToList() : new List<JsonElement>();
        return new ArchitectureSidecar(path, doc, input, labels, layers);
    }

    /// <summary>Builds the graph, reading each layer's parameters from the checkpoint and checking their shapes.</summary>
    public VisionGraph Build(ICheckpoint weights)
    {
        string file = System.IO.Path.GetFileName(Path);
        if (Layers.Count == 0) throw new VisionException($"{file}: no \"layers\" list: a state dict needs its architecture spelled out (the \"CNN architecture sidecar\" format of the ModelVis documentation)");
        var constants = new Dictionary<string, NdArray>(StringComparer.Ordinal);
        var nodes = new List<VisionNode>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        string previous = "input";
        int channels = Input?.Channels ?? -1;
        for (int i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            string type = layer.TryGetProperty("type", out var t) ? t.GetString()?.ToLowerInvariant() ?? "" : "";
            string name = layer.TryGetProperty("name", out var nm) ? nm.GetString() ?? "" : "";
            if (name.Length == 0) name = $"{i}.{type}";
            string where = $"{file}: layer {i} \"{name}\" ({type})";
            if (!names.Add(name) || name == "input") throw new VisionException($"{where}: the name is used twice");
            string prefix = layer.TryGetProperty("prefix", out var pf) ? pf.GetString() ?? name : name;
            var attrs = new Dictionary<string, object>();
            var inputs = new List<string> { previous };
            string op;

            NdArray Param(string suffix, long[] expected)
            {
                string key = prefix.Length > 0 ? prefix + "." + suffix : suffix;
                if (!weights.TryGet(key, out var info))
                    throw new VisionException($"{where}: the checkpoint has no tensor `{key}` (prefix \"{prefix}\"; set \"prefix\" to where this layer's weights live)");
                if (expected.Length > 0 && !info.Shape.SequenceEqual(expected))
                    throw new VisionException($"{where}: `{key}` is {info.ShapeText} but the sidecar implies [{string.Join(", ", expected)}]");
                var arr = NdArray.Of(weights.ReadFloats(info), info.Shape.Select(d => (int)d).ToArray());
                constants[key] = arr;
                inputs.Add(key);
                return arr;
            }
            bool HasParam(string suffix) => weights.TryGet(prefix.Length > 0 ? prefix + "." + suffix : suffix, out _);

            switch (type)
            {
                case "conv2d":
                {
                    op = "Conv";
                    var k = Pair(layer, "kernel_size", null, where);
                    var stride = Pair(layer, "stride", [1, 1], where);
                    var dil = Pair(layer, "dilation", [1, 1], where);
                    int groups = GetInt(layer, "groups", 1, file, name);
                    var w = Param("weight", []);
                    if (w.Rank != 4) throw new VisionException($"{where}: `{prefix}.weight` is {w.ShapeString}, not 4-D [out, in/groups, kH, kW]");
                    int outC = w.Shape[0];
                    if (k != null && (w.Shape[2] != k[0] || w.Shape[3] != k[1])) throw new VisionException($"{where}: kernel_size [{k[0]}, {k[1]}] but `{prefix}.weight` is {w.ShapeString}");
                    if (layer.TryGetProperty("out_channels", out var oc) && oc.GetInt32() != outC) throw new VisionException($"{where}: out_channels {oc.GetInt32()} but `{prefix}.weight` is {w.ShapeString}");
                    if (channels > 0 && w.Shape[1] * groups != channels) throw new VisionException($"{where}: the layer receives {channels} channels but `{prefix}.weight` {w.ShapeString} with groups {groups} expects {w.Shape[1] * groups}");
                    bool bias = !layer.TryGetProperty("bias", out var b) || b.ValueKind != JsonValueKind.False;
                    if (bias && HasParam("bias")) Param("bias", [outC]);
                    else if (bias && layer.TryGetProperty("bias", out _)) Param("bias", [outC]); // said so explicitly: must exist
                    attrs["kernel_shape"] = new long[] { w.Shape[2], w.Shape[3] };
                    attrs["strides"] = new long[] { stride![0], stride[1] };
                    attrs["dilations"] = new long[] { dil![0], dil[1] };
                    attrs["group"] = (long)groups;
                    SetPadding(layer, attrs, where);
                    channels = outC;
                    break;
                }
                case "batchnorm2d":
                {
                    op = "BatchNormalization";
                    int c = channels > 0 ? channels : -1;
                    var gamma = Param("weight", c > 0 ? [c] : []);
                    Param("bias", [gamma.Length]);
                    Param("running_mean", [gamma.Length]);
                    Param("running_var", [gamma.Length]);
                    attrs["epsilon"] = layer.TryGetProperty("eps", out var eps) ? eps.GetSingle() : 1e-5f;
                    break;
                }
                case "relu": op = "Relu"; break;
                case "relu6": op = "Clip"; AddScalar(constants, inputs, name + "::min", 0f); AddScalar(constants, inputs, name + "::max", 6f); break;
                case "leakyrelu": op = "LeakyRelu"; attrs["alpha"] = layer.TryGetProperty("negative_slope", out var ns) ? ns.GetSingle() : 0.01f; break;
                case "sigmoid": op = "Sigmoid"; break;
                case "tanh": op = "Tanh"; break;
                case "hardswish": op = "HardSwish"; break;
                case "maxpool2d":
                case "avgpool2d":
                {
                    op = type == "maxpool2d" ? "MaxPool" : "AveragePool";
                    var k = Pair(layer, "kernel_size", null, where) ?? throw new VisionException($"{where}: needs kernel_size");
                    var stride = Pair(layer, "stride", k, where)!;
                    attrs["kernel_shape"] = new long[] { k[0], k[1] };
                    attrs["strides"] = new long[] { stride[0], stride[1] };
                    if (type == "maxpool2d") attrs["dilations"] = Pair(layer, "dilation", [1, 1], where)!.Select(v => (long)v).ToArray();
                    attrs["ceil_mode"] = layer.TryGetProperty("ceil_mode", out var cm) && cm.ValueKind == JsonValueKind.True ? 1L : 0L;
                    // PyTorch's AvgPool2d counts padded zeros by default.
                    if (type == "avgpool2d") attrs["count_include_pad"] = layer.TryGetProperty("count_include_pad", out var cip) && cip.ValueKind == JsonValueKind.False ? 0L : 1L;
                    SetPadding(layer, attrs, where);
                    break;
                }
                case "adaptiveavgpool2d":
                {
                    var size = Pair(layer, "output_size", [1, 1], where)!;
                    if (size[0] == 1 && size[1] == 1) op = "GlobalAveragePool";
                    else { op = "AdaptiveAveragePool"; attrs["output_size"] = new long[] { size[0], size[1] }; }
                    break;
                }
                case "flatten":
                {
                    op = "Flatten";
                    int start = GetInt(layer, "start_dim", 1, file, name);
                    int end = GetInt(layer, "end_dim", -1, file, name);
                    if (end != -1) throw new VisionException($"{where}: only end_dim -1 is supported");
                    attrs["axis"] = (long)start;
                    channels = -1;
                    break;
                }
                case "linear":
                {
                    op = "Gemm";
                    var w = Param("weight", []);
                    if (w.Rank != 2) throw new VisionException($"{where}: `{prefix}.weight` is {w.ShapeString}, not 2-D [out, in]");
                    if (layer.TryGetProperty("in_features", out var inf) && inf.GetInt32() != w.Shape[1]) throw new VisionException($"{where}: in_features {inf.GetInt32()} but `{prefix}.weight` is {w.ShapeString}");
                    if (layer.TryGetProperty("out_features", out var of) && of.GetInt32() != w.Shape[0]) throw new VisionException($"{where}: out_features {of.GetInt32()} but `{prefix}.weight` is {w.ShapeString}");
                    bool bias = !layer.TryGetProperty("bias", out var b) || b.ValueKind != JsonValueKind.False;
                    if (bias && (HasParam("bias") || layer.TryGetProperty("bias", out _))) Param("bias", [w.Shape[0]]);
                    attrs["transB"] = 1L;
                    channels = -1;
                    break;
                }
                case "dropout": case "dropout2d": case "identity": op = "Identity"; break;
                case "softmax": op = "Softmax"; attrs["axis"] = (long)GetInt(layer, "dim", 1, file, name); break;
                case "logsoftmax": op = "LogSoftmax"; attrs["axis"] = (long)GetInt(layer, "dim", 1, file, name); break;
                default:
                    throw new VisionException($"{where}: unknown layer type \"{type}\" (known: conv2d, batchnorm2d, relu, relu6, leakyrelu, sigmoid, tanh, hardswish, maxpool2d, avgpool2d, adaptiveavgpool2d, flatten, linear, dropout, identity, softmax, logsoftmax)");
            }
            nodes.Add(new VisionNode
            {
                Name = name, OpType = op, Domain = op == "AdaptiveAveragePool" ? "modelvis" : "",
                Inputs = inputs.ToArray(), Outputs = [name], Attributes = attrs,
            });
            previous = name;
        }
        var input = Input;
        return new VisionGraph
        {
            Nodes = nodes,
            Constants = constants,
            InputName = "input",
            InputShape = input != null ? [1, input.Channels, input.Height, input.Width] : [1, channels, -1, -1],
            OutputNames = [previous],
            Opset = 13,
        };
    }

    static void AddScalar(Dictionary<string, NdArray> constants, List<string> inputs, string key, float v)
    {
        constants[key] = NdArray.Scalar(v);
        inputs.Add(key);
    }

    static void SetPadding(JsonElement layer, Dictionary<string, object> attrs, string where)
    {
        if (!layer.TryGetProperty("padding", out var p)) { attrs["pads"] = new long[] { 0, 0, 0, 0 }; return; }
        if (p.ValueKind == JsonValueKind.String)
        {
            switch (p.GetString())
            {
                case "same": attrs["auto_pad"] = "SAME_UPPER"; return; // PyTorch puts the odd pixel at the end, like SAME_UPPER
                case "valid": attrs["auto_pad"] = "VALID"; return;
                default: throw new VisionException($"{where}: padding \"{p.GetString()}\" (use a number, [h, w], \"same\" or \"valid\")");
            }
        }
        var pair = Pair(layer, "padding", [0, 0], where)!;
        attrs["pads"] = new long[] { pair[0], pair[1], pair[0], pair[1] };
    }

    /// <summary>An int or [h, w] hyperparameter, as PyTorch accepts either.</summary>
    static int[]? Pair(JsonElement layer, string key, int[]? fallback, string where)
    {
        if (!layer.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind == JsonValueKind.Number) return [v.GetInt32(), v.GetInt32()];
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2) return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        throw new VisionException($"{where}: \"{key}\" must be a number or a pair [h, w]");
    }

    static int GetInt(JsonElement e, string key, int fallback, string file, string what)
    {
        if (!e.TryGetProperty(key, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i)) throw new VisionException($"{file}: {what}: \"{key}\" must be an integer");
        return i;
    }

    static float[]? GetFloats(JsonElement e, string key, string file)
    {
        if (!e.TryGetProperty(key, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number) return [v.GetSingle()];
        if (v.ValueKind == JsonValueKind.Array) return v.EnumerateArray().Select(x => x.GetSingle()).ToArray();
        throw new VisionException($"{file}: input.{key} must be a number or a list of numbers");
    }
}
