using ModelVis.Checkpoints.Onnx;
using ModelVis.Vision.Graph;

namespace ModelVis.Vision.Onnx;

/// <summary>Turns a parsed ONNX model into a <see cref="VisionGraph"/>: initializers become weights, nodes keep their attributes.</summary>
public static class OnnxImport
{
    public static VisionGraph ToGraph(OnnxModel model)
    {
        string file = Path.GetFileName(model.Path);
        var bytes = model.FileBytes;
        var constants = new Dictionary<string, NdArray>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializers) constants[t.Name] = ToArray(t, bytes, file);

        // The image input: the first graph input that is not also an initializer (old exporters list weights as inputs).
        var input = model.Graph.Inputs.FirstOrDefault(i => !constants.ContainsKey(i.Name))
                    ?? throw new VisionException($"{file}: the graph has no input that is not a weight");
        var shape = input.Shape?.Select(d => d is long v && v > 0 ? (int)v : -1).ToArray() ?? [];

        var nodes = new List<VisionNode>();
        int index = 0;
        foreach (var n in model.Graph.Nodes)
        {
            var attrs = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var a in n.Attributes.Values) attrs[a.Name] = Convert(a, bytes, file);
            nodes.Add(new VisionNode
            {
                Name = n.Name.Length > 0 ? n.Name : $"{n.OpType}_{index}",
                OpType = n.OpType,
                Domain = n.Domain,
                Inputs = n.Inputs.ToArray(),
                Outputs = n.Outputs.ToArray(),
                Attributes = attrs,
            });
            index++;
        }
        return new VisionGraph
        {
            Nodes = nodes,
            Constants = constants,
            InputName = input.Name,
            InputShape = shape,
            OutputNames = model.Graph.Outputs.Select(o => o.Name).ToList(),
            Opset = model.DefaultOpset,
        };
    }

    static object Convert(OnnxAttribute a, byte[] bytes, string file) => a.Type switch
    {
        OnnxAttributeType.Float => a.F,
        OnnxAttributeType.Int => a.I,
        OnnxAttributeType.String => a.S,
        OnnxAttributeType.Floats => a.Floats.ToArray(),
        OnnxAttributeType.Ints => a.Ints.ToArray(),
        OnnxAttributeType.Strings => a.Strings.ToArray(),
        OnnxAttributeType.Tensor => ToArray(a.T!, bytes, file),
        _ => a.Type.ToString(), // graphs and other kinds: kept as a marker, no supported operator reads them
    };

    static NdArray ToArray(OnnxTensor t, byte[] bytes, string file)
    {
        var shape = t.Dims.Select(d => checked((int)d)).ToArray();
        try
        {
            return t.DataType switch
            {
                OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16 => NdArray.Of(t.ToFloats(bytes), shape),
                OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8 or OnnxDataType.UInt8
                    or OnnxDataType.UInt16 or OnnxDataType.UInt32 or OnnxDataType.UInt64 or OnnxDataType.Bool => NdArray.OfLongs(t.ToInt64s(bytes), shape),
                _ => throw new VisionException($"{file}: tensor `{t.Name}` has element type {t.DataType}, which the interpreter does not compute with"),
            };
        }
        catch (OnnxFormatException e) { throw new VisionException($"{file}: {e.Message}", e); }
    }
}
