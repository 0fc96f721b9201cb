using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Tensors;
using ModelVis.Vision.Ops;

namespace ModelVis.Vision.Graph;

/// <summary>
/// The part of a CNN graph downstream of one value, run again on the autodiff tape: every node that reads (through
/// others) from that value becomes a tape op; everything else — weights, values computed upstream, integer shape
/// arithmetic — is a constant taken from the interpreter's forward pass. Grad-CAM starts at a layer, feature
/// visualisation at the input.
/// </summary>
public static class TapeGraph
{
    /// <summary>Every value of one forward pass of the interpreter, by name.</summary>
    public static Dictionary<string, NdArray> Values(GraphRunner runner, NdArray input, CancellationToken cancel = default)
    {
        var result = runner.Run(input, captureAll: true, cancel: cancel);
        var values = result.Captured.ToDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
        foreach (var (k, v) in result.Outputs) values.TryAdd(k, v);
        return values;
    }

    /// <summary>The class scores' value: the graph's output, or what a final softmax reads.</summary>
    public static string ClassScores(VisionGraph graph, IReadOnlyList<VisionNode> order)
    {
        string name = graph.OutputNames[0];
        var last = order.LastOrDefault(n => n.Outputs.Contains(name));
        return last is { OpType: "Softmax" or "LogSoftmax" } ? last.Inputs[0] : name;
    }

    /// <summary>
    /// Runs the nodes downstream of <paramref name="start"/> (given as <paramref name="startValue"/>) on the tape, in
    /// order, until <paramref name="stop"/> is computed; returns the tape values by name.
    /// </summary>
    public static Dictionary<string, Var<float>> Run(Tape<float> tape, VisionGraph graph, IReadOnlyList<VisionNode> order, Dictionary<string, NdArray> values,
        string start, Var<float> startValue, string stop, CancellationToken cancel = default)
    {
        var vars = new Dictionary<string, Var<float>>(StringComparer.Ordinal) { [start] = startValue };
        foreach (var node in order)
        {
            if (vars.ContainsKey(stop)) break;
            if (!node.Inputs.Any(vars.ContainsKey)) continue;                                   // not downstream of the start
            if (values.TryGetValue(node.Outputs[0], out var known) && known.IsInteger) continue;  // shape arithmetic: a constant
            cancel.ThrowIfCancellationRequested();
            vars[node.Outputs[0]] = Differentiate(tape, node, i => Input(node, i, vars, values, graph));
        }
        return vars;
    }

    /// <summary>Input <paramref name="i"/> of a node: a tape value downstream of the layer, else a constant (a weight, or a value the forward pass computed).</summary>
    static Var<float>? Input(VisionNode node, int i, Dictionary<string, Var<float>> vars, Dictionary<string, NdArray> values, VisionGraph graph)
    {
        if (!node.HasInput(i)) return null;
        var name = node.Inputs[i];
        if (vars.TryGetValue(name, out var v)) return v;
        if (values.TryGetValue(name, out var computed) || graph.Constants.TryGetValue(name, out computed))
            return new Var<float>(computed.Floats, computed.Shape.Length == 0 ? [1] : computed.Shape, name: name);
        throw new VisionException($"{node.Describe}: input \"{name}\" was not computed");
    }

    /// <summary>One node on the tape: the operators a CNN's head is made of.</summary>
    static Var<float> Differentiate(Tape<float> tape, VisionNode n, Func<int, Var<float>?> input)
    {
        Var<float> In(int i) => input(i) ?? throw new VisionException($"{n.Describe}: required input {i} is missing");
        var x = In(0);
        switch (n.OpType)
        {
            case "Conv":
            {
                var w = In(1);
                return tape.Conv2D(x, w, input(2), WindowAttributes.From(n, x.Shape[2], x.Shape[3], w.Shape[2], w.Shape[3]), (int)n.Int("group", 1));
            }
            case "MaxPool" or "AveragePool":
            {
                var kernel = n.Ints("kernel_shape") ?? throw new VisionException($"{n.Describe}: no kernel_shape");
                var win = WindowAttributes.From(n, x.Shape[2], x.Shape[3], (int)kernel[0], (int)kernel[^1]);
                return n.OpType == "MaxPool" ? tape.MaxPool2D(x, win) : tape.AveragePool2D(x, win, n.Int("count_include_pad", 0) != 0);
            }
            case "GlobalAveragePool": return tape.GlobalAveragePool(x);
            case "BatchNormalization":
                return tape.BatchNorm(x, In(1).Data, In(2).Data, In(3).Data, In(4).Data, n.Float("epsilon", 1e-5f));
            case "Relu": return tape.Relu(x);
            case "Identity" or "Dropout": return x;
            case "Flatten":
            {
                int axis = (int)n.Int("axis", 1);
                if (axis < 0) axis += x.Shape.Length;
                int outer = x.Shape[..axis].Aggregate(1, (p, d) => p * d);
                return tape.Reshape(x, outer, x.Length / outer);
            }
            case "Reshape":
            {
                var target = In(1).Data.Select(v => (long)v).ToArray();
                var shape = new int[target.Length];
                int known = 1, infer = -1;
                for (int i = 0; i < target.Length; i++)
                {
                    shape[i] = target[i] == 0 && n.Int("allowzero", 0) == 0 ? x.Shape[i] : (int)target[i];
                    if (shape[i] == -1) infer = i; else known *= shape[i];
                }
                if (infer >= 0) shape[infer] = x.Length / known;
                return tape.Reshape(x, shape);
            }
            case "Gemm":
            {
                if (n.Int("transA", 0) != 0) throw new VisionException($"{n.Describe}: gradients through a Gemm with transA are not implemented");
                var b = In(1);
                float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
                // nn.Linear's weight [out, in]: B itself when transB, else Bᵀ.
                var w = n.Int("transB", 0) != 0 ? (float[])b.Data.Clone() : Transposed(b.Data, b.Shape[0], b.Shape[1]);
                int outF = n.Int("transB", 0) != 0 ? b.Shape[0] : b.Shape[1], inF = w.Length / outF;
                if (alpha != 1) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
                Var<float>? bias = null;
                if (input(2) is { } c)
                {
                    if (c.Length != outF) throw new VisionException($"{n.Describe}: a Gemm bias on the tape has one value per output, got [{string.Join(", ", c.Shape)}]");
                    bias = new Var<float>(c.Data.Select(v => v * beta).ToArray(), [outF]);
                }
                return tape.Linear(tape.Reshape(x, x.Length / inF, inF), new Var<float>(w, [outF, inF]), bias);
            }
            case "MatMul":
            {
                var b = In(1);
                if (b.RequiresGrad || b.Shape.Length != 2) throw new VisionException($"{n.Describe}: the tape multiplies by a constant matrix only");
                return tape.MatMul(tape.Reshape(x, x.Length / b.Shape[0], b.Shape[0]), b);
            }
            case "Add":
            {
                var y = In(1);
                if (x.Length == y.Length) return tape.Add(x, y);
                var (big, small) = x.Length > y.Length ? (x, y) : (y, x);
                if (small.RequiresGrad || small.Length != big.Shape[^1]) throw new VisionException($"{n.Describe}: the tape adds equal shapes or a bias over the last axis");
                return tape.AddRows(big, new Var<float>(small.Data, [1, small.Length]));
            }
            default:
                throw new VisionException($"no gradients through {n.Describe} yet (the tape differentiates Conv, pooling, BatchNormalization, Relu, Gemm, MatMul, Add, Flatten, Reshape)");
        }
    }

    static float[] Transposed(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        Gemm.Transpose(m, 0, rows, cols, t, 0);
        return t;
    }
}
