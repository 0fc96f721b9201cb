using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelVis.Vision.Graph;

/// <summary>
/// Runs an ONNX model with ONNX Runtime, for graphs whose operators the interpreter (<see cref="GraphRunner"/>) does
/// not cover. ONNX Runtime returns only a graph's outputs, so every node output is made one: the model's bytes get a
/// second <c>ModelProto.graph</c> field holding only <c>GraphProto.output</c> entries, which protobuf merges into the
/// first (repeated fields concatenate), so the file itself is neither parsed nor rewritten here.
/// Thread-safe: an <see cref="InferenceSession"/> may run concurrently.
/// </summary>
public sealed class OnnxRuntimeRunner : IGraphExecutor, IDisposable
{
    readonly VisionGraph _graph;
    readonly InferenceSession _session;
    readonly HashSet<string> _sessionOutputs;

    public IReadOnlyList<VisionNode> Order { get; }

    public OnnxRuntimeRunner(string onnxPath, VisionGraph graph)
    {
        _graph = graph;
        Order = GraphRunner.TopologicalOrder(graph);
        var extra = Order.SelectMany(n => n.Outputs).Where(o => o.Length > 0 && !graph.OutputNames.Contains(o)).Distinct().ToList();
        var options = new SessionOptions { IntraOpNumThreads = Tensors.Parallelism.Threads, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        try { _session = new InferenceSession(WithExtraOutputs(File.ReadAllBytes(onnxPath), extra), options); }
        catch (OnnxRuntimeException e) { throw new VisionException($"{Path.GetFileName(onnxPath)}: ONNX Runtime cannot load it: {e.Message}", e); }
        _sessionOutputs = _session.OutputMetadata.Where(kv => kv.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }

    public GraphRunner.Result Run(NdArray input, bool captureAll, IReadOnlySet<string>? capture = null,
                                  IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default)
    {
        var wanted = Order.SelectMany(n => n.Outputs)
            .Where(o => _sessionOutputs.Contains(o) && (captureAll || _graph.OutputNames.Contains(o) || capture?.Contains(o) == true))
            .Distinct().ToList();
        foreach (var o in _graph.OutputNames) if (!_sessionOutputs.Contains(o)) throw new VisionException($"graph output \"{o}\" is not a tensor");

        using var runOptions = new RunOptions();
        using var stop = cancel.Register(() => runOptions.Terminate = true);
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input.Floats, input.Shape.Select(d => (long)d).ToArray());
        progress?.Report((0, "ONNX Runtime"));
        IDisposableReadOnlyCollection<OrtValue> results;
        try { results = _session.Run(runOptions, [_graph.InputName], [inputValue], wanted); }
        catch (OnnxRuntimeException) when (cancel.IsCancellationRequested) { throw new OperationCanceledException(cancel); }
        catch (OnnxRuntimeException e) { throw new VisionException($"ONNX Runtime: {e.Message}", e); }
        using (results)
        {
            var values = new Dictionary<string, NdArray>(StringComparer.Ordinal);
            for (int i = 0; i < wanted.Count; i++) values[wanted[i]] = ToNdArray(results[i], wanted[i]);
            var captured = new List<ComputedValue>();
            foreach (var node in Order)
                foreach (var o in node.Outputs)
                    if (o.Length > 0 && values.TryGetValue(o, out var v) && (captureAll || capture?.Contains(o) == true || _graph.OutputNames.Contains(o)))
                        captured.Add(new ComputedValue(o, node, v));
            progress?.Report((1, "ONNX Runtime"));
            return new GraphRunner.Result(captured, _graph.OutputNames.ToDictionary(o => o, o => values[o], StringComparer.Ordinal));
        }
    }

    /// <summary>A tensor in the interpreter's terms: floating types as float32, integer and boolean types as int64.</summary>
    static NdArray ToNdArray(OrtValue value, string name)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape.Select(d => checked((int)d)).ToArray();
        return info.ElementDataType switch
        {
            TensorElementType.Float => NdArray.Of(value.GetTensorDataAsSpan<float>().ToArray(), shape),
            TensorElementType.Double => NdArray.Of(Array.ConvertAll(value.GetTensorDataAsSpan<double>().ToArray(), v => (float)v), shape),
            TensorElementType.Float16 => NdArray.Of(Array.ConvertAll(value.GetTensorDataAsSpan<Float16>().ToArray(), v => v.ToFloat()), shape),
            TensorElementType.BFloat16 => NdArray.Of(Array.ConvertAll(value.GetTensorDataAsSpan<BFloat16>().ToArray(), v => v.ToFloat()), shape),
            TensorElementType.Int64 => NdArray.OfLongs(value.GetTensorDataAsSpan<long>().ToArray(), shape),
            TensorElementType.Int32 => NdArray.OfLongs(Array.ConvertAll(value.GetTensorDataAsSpan<int>().ToArray(), v => (long)v), shape),
            TensorElementType.Int8 => NdArray.OfLongs(Array.ConvertAll(value.GetTensorDataAsSpan<sbyte>().ToArray(), v => (long)v), shape),
            TensorElementType.UInt8 => NdArray.OfLongs(Array.ConvertAll(value.GetTensorDataAsSpan<byte>().ToArray(), v => (long)v), shape),
            TensorElementType.Bool => NdArray.OfLongs(Array.ConvertAll(value.GetTensorDataAsSpan<bool>().ToArray(), v => v ? 1L : 0L), shape),
            var t => throw new VisionException($"value \"{name}\" has element type {t}, which ModelVis does not show"),
        };
    }

    /// <summary>The model's bytes followed by <c>graph { output { name } … }</c>, which protobuf merges into the model's graph.</summary>
    internal static byte[] WithExtraOutputs(byte[] model, IReadOnlyList<string> outputs)
    {
        var graph = new MemoryStream();
        foreach (var name in outputs)
        {
            var valueInfo = new MemoryStream();
            WriteBytes(valueInfo, 1, System.Text.Encoding.UTF8.GetBytes(name));              // ValueInfoProto.name
            WriteBytes(graph, 12, valueInfo.ToArray());                                       // GraphProto.output
        }
        var extended = new MemoryStream(model.Length + (int)graph.Length + 16);
        extended.Write(model);
        WriteBytes(extended, 7, graph.ToArray());                                              // ModelProto.graph
        return extended.ToArray();
    }

    static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteVarint(s, (ulong)(field << 3 | 2));
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    static void WriteVarint(Stream s, ulong v)
    {
        for (; v >= 0x80; v >>= 7) s.WriteByte((byte)(v | 0x80));
        s.WriteByte((byte)v);
    }

    public void Dispose() => _session.Dispose();
}
