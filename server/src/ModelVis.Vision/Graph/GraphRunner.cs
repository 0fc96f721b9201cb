using ModelVis.Vision.Ops;

namespace ModelVis.Vision.Graph;

/// <summary>One computed value: which node made it and what it is.</summary>
public sealed record ComputedValue(string Name, VisionNode Node, NdArray Value);

/// <summary>Runs a vision graph and keeps its node outputs: the interpreter, or ONNX Runtime for the operators it lacks.</summary>
public interface IGraphExecutor
{
    /// <summary>The nodes in the order they run.</summary>
    IReadOnlyList<VisionNode> Order { get; }

    GraphRunner.Result Run(NdArray input, bool captureAll, IReadOnlySet<string>? capture = null,
                           IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default);
}

/// <summary>
/// Runs a <see cref="VisionGraph"/> in topological order. Values no later node needs are dropped as soon as
/// possible unless they were asked for; with <c>captureAll</c> every node output is kept and returned in
/// execution order.
/// </summary>
public sealed class GraphRunner : IGraphExecutor
{
    readonly VisionGraph _graph;
    readonly List<VisionNode> _order;

    public GraphRunner(VisionGraph graph)
    {
        _graph = graph;
        _order = TopologicalOrder(graph);
        if (Unsupported(graph).FirstOrDefault() is { } node)
            throw new VisionException($"unsupported operator {(node.Domain is "" or "ai.onnx" ? "" : node.Domain + ".")}{node.OpType} in node \"{node.Name}\" (supported: {string.Join(", ", OperatorSet.Supported)})");
    }

    /// <summary>The nodes whose operators the interpreter has no kernel for.</summary>
    public static IEnumerable<VisionNode> Unsupported(VisionGraph graph) => graph.Nodes.Where(n => !OperatorSet.IsSupported(n.OpType, n.Domain));

    /// <summary>The nodes in the order they run.</summary>
    public IReadOnlyList<VisionNode> Order => _order;

    public sealed record Result(IReadOnlyList<ComputedValue> Captured, Dictionary<string, NdArray> Outputs);

    public Result Run(NdArray input, bool captureAll, IReadOnlySet<string>? capture = null,
                      IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default)
    {
        var values = new Dictionary<string, NdArray>(StringComparer.Ordinal) { [_graph.InputName] = input };
        // Last node (by position in _order) that reads each value, so intermediates can be freed.
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _order.Count; i++)
            foreach (var name in _order[i].Inputs)
                if (name.Length > 0) lastUse[name] = i;
        var keep = new HashSet<string>(_graph.OutputNames, StringComparer.Ordinal);
        if (capture != null) keep.UnionWith(capture);

        var captured = new List<ComputedValue>();
        var ctx = new OpContext(_graph.Opset);
        for (int i = 0; i < _order.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var node = _order[i];
            var inputs = new NdArray?[node.Inputs.Length];
            for (int k = 0; k < inputs.Length; k++)
            {
                var name = node.Inputs[k];
                if (name.Length == 0) continue;
                if (values.TryGetValue(name, out var v) || _graph.Constants.TryGetValue(name, out v)) inputs[k] = v;
                else throw new VisionException($"{node.Describe}: input \"{name}\" is neither computed by an earlier node, a weight, nor the graph input");
            }
            NdArray[] outputs;
            try { outputs = OperatorSet.Run(node, inputs, ctx); }
            catch (VisionException e) when (!e.Message.Contains(node.Name, StringComparison.Ordinal))
            {
                throw new VisionException($"{node.Describe}: {e.Message}", e);
            }
            for (int k = 0; k < node.Outputs.Length && k < outputs.Length; k++)
            {
                if (node.Outputs[k].Length == 0) continue;
                values[node.Outputs[k]] = outputs[k];
                if (captureAll || keep.Contains(node.Outputs[k])) captured.Add(new ComputedValue(node.Outputs[k], node, outputs[k]));
            }
            if (!captureAll)
                foreach (var name in node.Inputs)
                    if (name.Length > 0 && lastUse.TryGetValue(name, out int last) && last == i && !keep.Contains(name) && name != _graph.InputName)
                        values.Remove(name);
            progress?.Report(((i + 1) / (double)_order.Count, $"{node.OpType} {node.Name}"));
        }
        var outs = new Dictionary<string, NdArray>(StringComparer.Ordinal);
        foreach (var name in _graph.OutputNames)
        {
            if (!values.TryGetValue(name, out var v) && !_graph.Constants.TryGetValue(name, out v))
                throw new VisionException($"graph output \"{name}\" is never computed");
            outs[name] = v;
        }
        return new Result(captured, outs);
    }

    /// <summary>Kahn's algorithm, stable: among ready nodes, the one that comes first in the file runs first.</summary>
    internal static List<VisionNode> TopologicalOrder(VisionGraph g)
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < g.Nodes.Count; i++)
            foreach (var o in g.Nodes[i].Outputs)
                if (o.Length > 0) producer[o] = i;
        var pending = new int[g.Nodes.Count];
        var consumers = new List<int>[g.Nodes.Count];
        for (int i = 0; i < g.Nodes.Count; i++) consumers[i] = new();
        for (int i = 0; i < g.Nodes.Count; i++)
            foreach (var name in g.Nodes[i].Inputs.Distinct())
            {
                if (name.Length == 0 || name == g.InputName || g.Constants.ContainsKey(name) && !producer.ContainsKey(name)) continue;
                if (!producer.TryGetValue(name, out int p))
                    throw new VisionException($"{g.Nodes[i].Describe}: input \"{name}\" is neither computed by a node, a weight, nor the graph input");
                if (p == i) throw new VisionException($"{g.Nodes[i].Describe} reads its own output \"{name}\"");
                pending[i]++;
                consumers[p].Add(i);
            }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < pending.Length; i++) if (pending[i] == 0) ready.Enqueue(i, i);
        var order = new List<VisionNode>(g.Nodes.Count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(g.Nodes[i]);
            foreach (var c in consumers[i]) if (--pending[c] == 0) ready.Enqueue(c, c);
        }
        if (order.Count != g.Nodes.Count)
        {
            var stuck = g.Nodes.Where((_, i) => pending[i] > 0).Select(n => n.Name).Take(3);
            throw new VisionException($"the graph has a cycle (nodes that never become ready: {string.Join(", ", stuck)})");
        }
        return order;
    }
}
