using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Tensors;
using ModelVis.Vision.Ops;

namespace ModelVis.Vision.Graph;

/// <summary>A Grad-CAM map [Height, Width] over one layer's grid, with the class score it explains and each channel's weight α_k.</summary>
public sealed record GradCamMap(string Layer, int Class, double Score, float[] Map, int Height, int Width, float[] ChannelWeights);

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017) on any layer of a CNN graph:
/// <code>
///   α_k = mean over (i, j) of ∂y_c / ∂A_k(i, j)        y_c: the class's score before any final softmax; A: the layer's output [K, H, W]
///   L   = ReLU(Σ_k α_k · A_k)                          [H, W], over the layer's grid (the panel stretches it over the input)
/// </code>
/// The forward pass is the interpreter's (<see cref="GraphRunner"/>, every value kept); only the nodes downstream of the
/// layer run again on the autodiff tape, from A as the variable, with everything else constant.
/// </summary>
public static class GradCam
{
    public static GradCamMap Compute(VisionGraph graph, NdArray input, string layer, int? classIndex, CancellationToken cancel = default)
    {
        var runner = new GraphRunner(graph);
        var result = runner.Run(input, captureAll: true, cancel: cancel);
        var values = result.Captured.ToDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
        foreach (var (k, v) in result.Outputs) values.TryAdd(k, v);
        if (!values.TryGetValue(layer, out var a))
            throw new VisionException($"Grad-CAM: the graph has no value \"{layer}\" (choose a layer's output)");
        if (a.Rank != 4 || a.Shape[0] != 1) throw new VisionException($"Grad-CAM needs a layer with maps [1, K, H, W]; \"{layer}\" is {a.ShapeString}");

        // The class score: the graph's output, or what a final softmax reads.
        var producer = new Dictionary<string, VisionNode>(StringComparer.Ordinal);
        foreach (var n in runner.Order) foreach (var o in n.Outputs) producer[o] = n;
        string scoreName = graph.OutputNames[0];
        if (producer.TryGetValue(scoreName, out var last) && last.OpType is "Softmax" or "LogSoftmax") scoreName = last.Inputs[0];

        var tape = new Tape<float>();
        var leaf = new Var<float>((float[])a.Floats.Clone(), a.Shape, requiresGrad: true, name: layer);
        var vars = new Dictionary<string, Var<float>>(StringComparer.Ordinal) { [layer] = leaf };
        foreach (var node in runner.Order)
        {
            if (vars.ContainsKey(scoreName)) break;
            if (!node.Inputs.Any(vars.ContainsKey)) continue;                                  // not downstream of the layer
            cancel.ThrowIfCancellationRequested();
            var output = Differentiate(tape, node, i => Input(node, i, vars, values, graph));
            vars[node.Outputs[0]] = output;
        }
        if (!vars.TryGetValue(scoreName, out var scores))
            throw new VisionException($"Grad-CAM: the class scores do not depend on \"{layer}\" (choose a layer before the classifier)");
        if (scores.Length != scores.Shape[^1] || scores.Length < 1) throw new VisionException($"Grad-CAM needs one row of class scores, got [{string.Join(", ", scores.Shape)}]");
        int cls = classIndex ?? System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(scores.Data);
        if ((uint)cls >= (uint)scores.Length) throw new VisionException($"class {cls} is outside the model's {scores.Length} classes (0..{scores.Length - 1})");
        var pick = new float[scores.Length];
        pick[cls] = 1;
        tape.Backward(tape.WeightedSum(scores, pick));

        int K = a.Shape[1], H = a.Shape[2], W = a.Shape[3];
        var alpha = new float[K];
        var map = new float[H * W];
        for (int k = 0; k < K; k++)
        {
            double s = 0;
            for (int p = 0; p < H * W; p++) s += leaf.Grad[k * H * W + p];
            alpha[k] = (float)(s / (H * W));
        }
        for (int p = 0; p < H * W; p++)
        {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)alpha[k] * a.Floats[k * H * W + p];
            map[p] = (float)Math.Max(0, s);
        }
        return new GradCamMap(layer, cls, scores.Data[cls], map, H, W, alpha);
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
                if (n.Int("transA", 0) != 0) throw new VisionException($"{n.Describe}: Grad-CAM does not take gradients through a Gemm with transA");
                var b = In(1);
                float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
                // nn.Linear's weight [out, in]: B itself when transB, else Bᵀ.
                var w = n.Int("transB", 0) != 0 ? (float[])b.Data.Clone() : Transposed(b.Data, b.Shape[0], b.Shape[1]);
                int outF = n.Int("transB", 0) != 0 ? b.Shape[0] : b.Shape[1], inF = w.Length / outF;
                if (alpha != 1) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
                Var<float>? bias = null;
                if (input(2) is { } c)
                {
                    if (c.Length != outF) throw new VisionException($"{n.Describe}: Grad-CAM takes a Gemm bias of one value per output, got [{string.Join(", ", c.Shape)}]");
                    bias = new Var<float>(c.Data.Select(v => v * beta).ToArray(), [outF]);
                }
                return tape.Linear(tape.Reshape(x, x.Length / inF, inF), new Var<float>(w, [outF, inF]), bias);
            }
            case "MatMul":
            {
                var b = In(1);
                if (b.RequiresGrad || b.Shape.Length != 2) throw new VisionException($"{n.Describe}: Grad-CAM takes a MatMul by a constant matrix only");
                return tape.MatMul(tape.Reshape(x, x.Length / b.Shape[0], b.Shape[0]), b);
            }
            case "Add":
            {
                var y = In(1);
                if (x.Length == y.Length) return tape.Add(x, y);
                var (big, small) = x.Length > y.Length ? (x, y) : (y, x);
                if (small.RequiresGrad || small.Length != big.Shape[^1]) throw new VisionException($"{n.Describe}: Grad-CAM adds equal shapes or a bias over the last axis");
                return tape.AddRows(big, new Var<float>(small.Data, [1, small.Length]));
            }
            default:
                throw new VisionException($"Grad-CAM cannot take gradients through {n.Describe} yet (it differentiates Conv, pooling, BatchNormalization, Relu, Gemm, MatMul, Add, Flatten, Reshape)");
        }
    }

    static float[] Transposed(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        Gemm.Transpose(m, 0, rows, cols, t, 0);
        return t;
    }
}
