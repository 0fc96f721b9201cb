namespace ModelVis.Vision.Graph;

/// <summary>
/// One operator call in ONNX terms (op type, named inputs and outputs, attributes). Graphs from ONNX files
/// and from PyTorch sidecars are both expressed this way, so one interpreter runs both.
/// Attribute values are long, float, string, long[], float[] or <see cref="NdArray"/>.
/// </summary>
public sealed class VisionNode
{
    public required string Name { get; init; }
    public required string OpType { get; init; }
    public string Domain { get; init; } = "";
    /// <summary>Input value names; "" marks an optional input that is left out.</summary>
    public required string[] Inputs { get; init; }
    public required string[] Outputs { get; init; }
    public Dictionary<string, object> Attributes { get; init; } = new();

    public string Describe => $"{OpType} node \"{Name}\"";

    public long Int(string name, long fallback) => Attributes.TryGetValue(name, out var v) ? Convert.ToInt64(v) : fallback;
    public float Float(string name, float fallback) => Attributes.TryGetValue(name, out var v) ? Convert.ToSingle(v) : fallback;
    public string Str(string name, string fallback) => Attributes.TryGetValue(name, out var v) && v is string s ? s : fallback;
    public bool Has(string name) => Attributes.ContainsKey(name);

    public long[]? Ints(string name) => Attributes.TryGetValue(name, out var v) ? v switch
    {
        long[] a => a,
        long l => [l],
        _ => throw new VisionException($"{Describe}: attribute `{name}` is not a list of integers"),
    } : null;

    public float[]? Floats(string name) => Attributes.TryGetValue(name, out var v) ? v switch
    {
        float[] a => a,
        float f => [f],
        long[] l => Array.ConvertAll(l, x => (float)x),
        _ => throw new VisionException($"{Describe}: attribute `{name}` is not a list of floats"),
    } : null;

    public NdArray? Tensor(string name) => Attributes.TryGetValue(name, out var v) ? v as NdArray : null;

    /// <summary>The input at <paramref name="index"/> when present (not left out, not past the end).</summary>
    public bool HasInput(int index) => index < Inputs.Length && Inputs[index].Length > 0;
}

/// <summary>A computation graph: nodes, constant tensors (weights), one image input, and the outputs.</summary>
public sealed class VisionGraph
{
    public required List<VisionNode> Nodes { get; init; }
    public required Dictionary<string, NdArray> Constants { get; init; }
    public required string InputName { get; init; }
    /// <summary>The declared input shape, -1 where it is symbolic (e.g. [1, 3, -1, -1]).</summary>
    public required int[] InputShape { get; init; }
    public required List<string> OutputNames { get; init; }
    /// <summary>The default-domain opset the graph was written for (it changes some operators' semantics).</summary>
    public long Opset { get; init; } = 13;
}
