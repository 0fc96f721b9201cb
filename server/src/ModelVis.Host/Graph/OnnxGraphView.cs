using ModelVis.Checkpoints.Onnx;
using ModelVis.Vision;

namespace ModelVis.Host.Graph;

/// <summary>
/// An ONNX file's operator graph as the graph view draws it (what Netron shows): one node per operator, its
/// initializers and Constant inputs folded into it as tensors, graph inputs and outputs as nodes of their own, and an
/// edge per value passed between them labelled with the value's shape. Shapes are what a run on a zero picture of the
/// model's input size computes (the interpreter or ONNX Runtime), so every edge has one, not only those the exporter
/// wrote into value_info.
/// </summary>
public static class OnnxGraphView
{
    public static ModelGraph Build(string path, VisionModel? model, CancellationToken ct = default)
    {
        OnnxModel onnx;
        try { onnx = OnnxModel.Load(path); }
        catch (OnnxFormatException e) { throw new VisionException(e.Message, e); }
        var g = onnx.Graph;
        var initializers = g.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var constants = g.Nodes.Where(n => n.OpType == "Constant" && n.Outputs.Count == 1)
            .ToDictionary(n => n.Outputs[0], n => n, StringComparer.Ordinal);
        var shapes = Shapes(onnx, model, ct, out var note);

        var producer = new Dictionary<string, string>(StringComparer.Ordinal);
        var nodes = new List<GraphNode>();
        foreach (var input in g.Inputs.Where(i => !initializers.ContainsKey(i.Name)))
        {
            producer[input.Name] = "input:" + input.Name;
            nodes.Add(new GraphNode("input:" + input.Name, "Input", input.Name, "", 0, [], new() { ["shape"] = ShapeText(shapes.GetValueOrDefault(input.Name)) }));
        }
        int index = 0;
        var operators = new List<(OnnxNode Node, string Id)>();
        foreach (var n in g.Nodes)
        {
            index++;
            if (n.OpType == "Constant" && constants.ContainsKey(n.Outputs[0])) continue;
            string id = $"node:{index - 1}";
            operators.Add((n, id));
            foreach (var o in n.Outputs) if (o.Length > 0) producer[o] = id;
            var folded = n.Inputs.Where(i => initializers.ContainsKey(i)).Select(i => initializers[i])
                .Select(t => new GraphTensor(t.Name, t.Dims.ToArray(), t.DataType.ToString())).ToList();
            folded.AddRange(n.Inputs.Where(i => constants.ContainsKey(i)).Select(i => constants[i].Attributes.TryGetValue("value", out var v) && v.T is { } t
                ? new GraphTensor(i, t.Dims.ToArray(), t.DataType.ToString()) : new GraphTensor(i, [], "Constant")));
            nodes.Add(new GraphNode(id, n.OpType, n.DisplayName, Scope(n.DisplayName), folded.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b)),
                folded.ToArray(), n.Attributes.Values.ToDictionary(a => a.Name, AttributeText, StringComparer.Ordinal)));
        }
        foreach (var output in g.Outputs)
            nodes.Add(new GraphNode("output:" + output.Name, "Output", output.Name, "", 0, [], new() { ["shape"] = ShapeText(shapes.GetValueOrDefault(output.Name)) }));

        var edges = new List<GraphEdge>();
        foreach (var (n, id) in operators)
            foreach (var i in n.Inputs.Distinct())
                if (i.Length > 0 && producer.TryGetValue(i, out var from))
                    edges.Add(new GraphEdge(from, id, i, shapes.GetValueOrDefault(i)));
        foreach (var output in g.Outputs)
            if (producer.TryGetValue(output.Name, out var from))
                edges.Add(new GraphEdge(from, "output:" + output.Name, output.Name, shapes.GetValueOrDefault(output.Name)));

        long parameters = g.Initializers.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));
        return new ModelGraph("onnx", Path.GetFileName(path), path, nodes.ToArray(), edges.ToArray(), parameters, note);
    }

    /// <summary>
    /// Every value's shape: the file's declarations, then what a run on a zero input computes (the declared input
    /// shape, symbolic sizes taken from the default preprocessing). A model that fails to run keeps the declared shapes
    /// and says why in <paramref name="note"/>.
    /// </summary>
    static Dictionary<string, long[]> Shapes(OnnxModel onnx, VisionModel? model, CancellationToken ct, out string note)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var v in onnx.Graph.Inputs.Concat(onnx.Graph.ValueInfo).Concat(onnx.Graph.Outputs))
            if (v.Shape is { } s && s.All(d => d is > 0)) shapes[v.Name] = s.Select(d => d!.Value).ToArray();
        if (model is null)
        {
            note = "shapes from the file's value_info only (the model cannot be run)";
            return shapes;
        }
        var pre = model.DefaultPreprocessing;
        int[] fallback = [1, pre.Channels, pre.Height, pre.Width];
        var declared = model.Graph.InputShape;
        var input = declared.Length == 4 ? declared.Select((d, i) => d > 0 ? d : fallback[i]).ToArray() : fallback;
        try
        {
            var run = model.Run(NdArray.Zeros(input), pre, captureAll: true, cancel: ct);
            shapes[model.Graph.InputName] = input.Select(d => (long)d).ToArray();
            foreach (var layer in run.Layers) shapes[layer.Name] = layer.Value.Shape.Select(d => (long)d).ToArray();
            foreach (var (name, value) in run.Outputs) shapes[name] = value.Shape.Select(d => (long)d).ToArray();
            note = $"shapes from a run on zeros of [{string.Join(", ", input)}] ({model.Engine})";
        }
        catch (VisionException e)
        {
            note = $"shapes from the file's value_info only: a run on zeros failed ({e.Message})";
        }
        return shapes;
    }

    /// <summary>The name path an exporter wrote ("/backbone/conv1/Conv" → "backbone/conv1"; "base_net.12.3" → "base_net.12").</summary>
    internal static string Scope(string name)
    {
        var trimmed = name.Trim('/');
        int slash = trimmed.LastIndexOf('/');
        if (slash > 0) return trimmed[..slash];
        int dot = trimmed.LastIndexOf('.');
        return dot > 0 ? trimmed[..dot] : "";
    }

    static string ShapeText(long[]? shape) => shape is null ? "?" : "[" + string.Join(", ", shape) + "]";

    static string AttributeText(OnnxAttribute a) => a.Type switch
    {
        OnnxAttributeType.Float => a.F.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        OnnxAttributeType.Int => a.I.ToString(System.Globalization.CultureInfo.InvariantCulture),
        OnnxAttributeType.String => a.S,
        OnnxAttributeType.Floats => "[" + string.Join(", ", a.Floats.Select(f => f.ToString("G6", System.Globalization.CultureInfo.InvariantCulture))) + "]",
        OnnxAttributeType.Ints => "[" + string.Join(", ", a.Ints) + "]",
        OnnxAttributeType.Strings => "[" + string.Join(", ", a.Strings) + "]",
        OnnxAttributeType.Tensor => a.T is { } t ? $"tensor {t.ShapeText}" : "tensor",
        _ => a.Type.ToString(),
    };
}
