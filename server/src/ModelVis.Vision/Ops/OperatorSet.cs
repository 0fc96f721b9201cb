using ModelVis.Tensors;
using ModelVis.Vision.Graph;

namespace ModelVis.Vision.Ops;

/// <summary>What an operator needs to know about the graph it runs in.</summary>
public sealed record OpContext(long Opset);

/// <summary>
/// The operators the interpreter runs, by ONNX op type, each mapped to its kernel with the attribute and
/// optional-input conventions of the ONNX spec (including the ones that changed between opsets).
/// </summary>
public static class OperatorSet
{
    delegate NdArray[] Kernel(VisionNode node, NdArray?[] inputs, OpContext ctx);

    static readonly Dictionary<string, Kernel> Kernels = new(StringComparer.Ordinal)
    {
        ["Conv"] = (n, x, _) =>
        {
            var input = In(n, x, 0); var w = In(n, x, 1);
            if (w.Rank != 4) throw new VisionException($"{n.Describe}: only 2-D convolution is supported (filters {w.ShapeString})");
            var win = WindowAttributes.From(n, input.Shape[2], input.Shape[3], w.Shape[2], w.Shape[3]);
            return [Conv.Forward(input, w, Opt(x, 2), win, (int)n.Int("group", 1))];
        },
        ["MaxPool"] = (n, x, _) => [Pooling.Max(In(n, x, 0), PoolWindow(n, In(n, x, 0)))],
        ["AveragePool"] = (n, x, _) => [Pooling.Average(In(n, x, 0), PoolWindow(n, In(n, x, 0)), n.Int("count_include_pad", 0) != 0)],
        ["GlobalAveragePool"] = (n, x, _) => [Pooling.GlobalAverage(In(n, x, 0))],
        ["GlobalMaxPool"] = (n, x, _) => [Pooling.GlobalMax(In(n, x, 0))],
        // Not ONNX: PyTorch's AdaptiveAvgPool2d, produced by architecture sidecars.
        ["AdaptiveAveragePool"] = (n, x, _) =>
        {
            var size = n.Ints("output_size") ?? [1, 1];
            return [Pooling.AdaptiveAverage(In(n, x, 0), (int)size[0], (int)size[^1])];
        },
        ["BatchNormalization"] = (n, x, _) => [Normalization.BatchNorm(In(n, x, 0), In(n, x, 1), In(n, x, 2), In(n, x, 3), In(n, x, 4), n.Float("epsilon", 1e-5f))],
        ["Relu"] = (n, x, _) => [Elementwise.Relu(In(n, x, 0))],
        ["LeakyRelu"] = (n, x, _) => [Elementwise.LeakyRelu(In(n, x, 0), n.Float("alpha", 0.01f))],
        ["PRelu"] = (n, x, _) => [Elementwise.Binary(BinaryOp.PRelu, In(n, x, 0), In(n, x, 1))],
        ["Sigmoid"] = (n, x, _) => [Elementwise.Sigmoid(In(n, x, 0))],
        ["HardSigmoid"] = (n, x, _) => [Elementwise.HardSigmoid(In(n, x, 0), n.Float("alpha", 0.2f), n.Float("beta", 0.5f))],
        ["HardSwish"] = (n, x, _) => [Elementwise.HardSwish(In(n, x, 0))],
        ["Tanh"] = (n, x, _) => [Elementwise.Tanh(In(n, x, 0))],
        ["Exp"] = (n, x, _) => [Elementwise.Exp(In(n, x, 0))],
        ["Sqrt"] = (n, x, _) => [Elementwise.Sqrt(In(n, x, 0))],
        ["Abs"] = (n, x, _) => [Elementwise.Abs(In(n, x, 0))],
        ["Neg"] = (n, x, _) => [Elementwise.Neg(In(n, x, 0))],
        ["Clip"] = (n, x, ctx) =>
        {
            // Before opset 11 the bounds are attributes; from 11 they are optional inputs.
            float min = ctx.Opset < 11 ? n.Float("min", float.NegativeInfinity) : Opt(x, 1) is { } lo ? lo.Floats[0] : float.NegativeInfinity;
            float max = ctx.Opset < 11 ? n.Float("max", float.PositiveInfinity) : Opt(x, 2) is { } hi ? hi.Floats[0] : float.PositiveInfinity;
            return [Elementwise.Clip(In(n, x, 0), min, max)];
        },
        ["Add"] = (n, x, _) => [Elementwise.Binary(BinaryOp.Add, In(n, x, 0), In(n, x, 1))],
        ["Sub"] = (n, x, _) => [Elementwise.Binary(BinaryOp.Sub, In(n, x, 0), In(n, x, 1))],
        ["Mul"] = (n, x, _) => [Elementwise.Binary(BinaryOp.Mul, In(n, x, 0), In(n, x, 1))],
        ["Div"] = (n, x, _) => [Elementwise.Binary(BinaryOp.Div, In(n, x, 0), In(n, x, 1))],
        ["Pow"] = (n, x, _) => [Elementwise.Binary(BinaryOp.Pow, In(n, x, 0), In(n, x, 1))],
        ["Sum"] = (n, x, _) => [x.Where(v => v != null).Select(v => v!).Aggregate((a, b) => Elementwise.Binary(BinaryOp.Add, a, b))],
        ["Max"] = (n, x, _) => [x.Where(v => v != null).Select(v => v!).Aggregate((a, b) => Elementwise.Binary(BinaryOp.Max, a, b))],
        ["Min"] = (n, x, _) => [x.Where(v => v != null).Select(v => v!).Aggregate((a, b) => Elementwise.Binary(BinaryOp.Min, a, b))],
        ["Gemm"] = (n, x, _) => [Linear.Gemm(In(n, x, 0), In(n, x, 1), Opt(x, 2), n.Float("alpha", 1f), n.Float("beta", 1f), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)],
        ["MatMul"] = (n, x, _) => [Linear.MatMul(In(n, x, 0), In(n, x, 1))],
        ["Softmax"] = (n, x, ctx) => [Normalization.Softmax(In(n, x, 0), (int)n.Int("axis", ctx.Opset < 13 ? 1 : -1), coerceTo2D: ctx.Opset < 13)],
        ["LogSoftmax"] = (n, x, ctx) => [Normalization.Softmax(In(n, x, 0), (int)n.Int("axis", ctx.Opset < 13 ? 1 : -1), coerceTo2D: ctx.Opset < 13, log: true)],
        ["Concat"] = (n, x, _) => [Shapes.Concat(x.Where(v => v != null).Select(v => v!).ToList(), (int)n.Int("axis", 1))],
        ["Reshape"] = (n, x, ctx) =>
        {
            // Opset 1–4 carried the target shape as an attribute; later opsets as the second input.
            var shape = n.HasInput(1) ? In(n, x, 1).Longs : n.Ints("shape") ?? throw new VisionException($"{n.Describe}: no target shape");
            return [Shapes.Reshape(In(n, x, 0), shape, n.Int("allowzero", 0) != 0)];
        },
        ["Flatten"] = (n, x, _) => [Shapes.Flatten(In(n, x, 0), (int)n.Int("axis", 1))],
        ["Transpose"] = (n, x, _) => [Shapes.Transpose(In(n, x, 0), n.Ints("perm")?.Select(p => (int)p).ToArray())],
        ["Slice"] = (n, x, ctx) =>
        {
            if (ctx.Opset < 10 || !n.HasInput(1))
                return [Shapes.Slice(In(n, x, 0), n.Ints("starts") ?? [], n.Ints("ends") ?? [], n.Ints("axes"), null)];
            return [Shapes.Slice(In(n, x, 0), In(n, x, 1).Longs, In(n, x, 2).Longs, Opt(x, 3)?.Longs, Opt(x, 4)?.Longs)];
        },
        ["Gather"] = (n, x, _) => [Shapes.Gather(In(n, x, 0), In(n, x, 1), (int)n.Int("axis", 0))],
        ["Unsqueeze"] = (n, x, ctx) => [Shapes.Unsqueeze(In(n, x, 0), n.HasInput(1) ? In(n, x, 1).Longs : n.Ints("axes") ?? [])],
        ["Squeeze"] = (n, x, ctx) => [Shapes.Squeeze(In(n, x, 0), n.HasInput(1) ? In(n, x, 1).Longs : n.Ints("axes"))],
        ["Shape"] = (n, x, _) =>
        {
            var shape = In(n, x, 0).Shape;
            return [NdArray.OfLongs(shape.Select(d => (long)d).ToArray(), shape.Length)];
        },
        ["Identity"] = (n, x, _) => [In(n, x, 0)],
        ["Dropout"] = (n, x, _) => [In(n, x, 0)], // inference: identity (the optional mask output is not produced)
        ["Cast"] = (n, x, _) =>
        {
            var v = In(n, x, 0);
            long to = n.Int("to", 1);
            bool toInt = to is 2 or 3 or 4 or 5 or 6 or 7 or 9 or 12 or 13;
            return [toInt ? NdArray.OfLongs(v.Longs, v.Shape) : NdArray.Of(v.Floats, v.Shape)];
        },
        ["Constant"] = (n, _, _) => [ConstantValue(n)],
        ["Pad"] = (n, x, ctx) =>
        {
            string mode = n.Str("mode", "constant");
            if (ctx.Opset < 11) return [Shapes.Pad(In(n, x, 0), n.Ints("pads") ?? [], mode, n.Float("value", 0f))];
            var input = In(n, x, 0);
            var pads = In(n, x, 1).Longs;
            float value = Opt(x, 2) is { } cv && cv.Length > 0 ? cv.Floats[0] : 0f;
            if (n.HasInput(3))
            {
                // Pads given for some axes only: spread them over all axes.
                var axes = In(n, x, 3).Longs.Select(a => (int)(a < 0 ? a + input.Rank : a)).ToArray();
                var full = new long[2 * input.Rank];
                for (int i = 0; i < axes.Length; i++) { full[axes[i]] = pads[i]; full[axes[i] + input.Rank] = pads[i + axes.Length]; }
                pads = full;
            }
            return [Shapes.Pad(input, pads, mode, value)];
        },
        ["Resize"] = (n, x, ctx) => [ResizeNode(n, x, ctx)],
        ["Upsample"] = (n, x, ctx) => [ResizeNode(n, x, ctx)],
    };

    public static IEnumerable<string> Supported => Kernels.Keys.Where(k => k != "AdaptiveAveragePool").Order(StringComparer.Ordinal);

    public static bool IsSupported(string opType, string domain) =>
        (domain is "" or "ai.onnx" || domain == "modelvis" && opType == "AdaptiveAveragePool") && Kernels.ContainsKey(opType);

    public static NdArray[] Run(VisionNode node, NdArray?[] inputs, OpContext ctx)
    {
        if (!Kernels.TryGetValue(node.OpType, out var kernel))
            throw new VisionException($"unsupported operator {node.OpType} in node \"{node.Name}\"");
        return kernel(node, inputs, ctx);
    }

    static NdArray In(VisionNode n, NdArray?[] x, int i) =>
        i < x.Length && x[i] != null ? x[i]! : throw new VisionException($"{n.Describe}: required input {i} is missing");

    static NdArray? Opt(NdArray?[] x, int i) => i < x.Length ? x[i] : null;

    static Window2D PoolWindow(VisionNode n, NdArray x)
    {
        var kernel = n.Ints("kernel_shape") ?? throw new VisionException($"{n.Describe}: no kernel_shape");
        if (kernel.Length != 2 || x.Rank != 4) throw new VisionException($"{n.Describe}: only 2-D pooling is supported (kernel {kernel.Length}-D, input {x.ShapeString})");
        return WindowAttributes.From(n, x.Shape[2], x.Shape[3], (int)kernel[0], (int)kernel[1]);
    }

    static NdArray ConstantValue(VisionNode n)
    {
        if (n.Tensor("value") is { } t) return t;
        if (n.Attributes.TryGetValue("value_float", out var f)) return NdArray.Scalar(Convert.ToSingle(f));
        if (n.Attributes.TryGetValue("value_int", out var i)) return NdArray.OfLongs([Convert.ToInt64(i)]);
        if (n.Floats("value_floats") is { } fs && n.Has("value_floats")) return NdArray.Of(fs, fs.Length);
        if (n.Ints("value_ints") is { } ints) return NdArray.OfLongs(ints, ints.Length);
        throw new VisionException($"{n.Describe}: a Constant without a value this interpreter reads (value, value_float(s), value_int(s))");
    }

    static NdArray ResizeNode(VisionNode n, NdArray?[] x, OpContext ctx)
    {
        var input = In(n, x, 0);
        if (input.Rank != 4) throw new VisionException($"{n.Describe}: only 4-D [N, C, H, W] inputs are supported, got {input.ShapeString}");
        float[]? scales = null;
        long[]? sizes = null;
        if (n.OpType == "Upsample" || ctx.Opset < 11)
            scales = n.HasInput(1) ? In(n, x, 1).Floats : n.Floats("scales");
        else
        {
            // Resize-11+: X, roi, scales, sizes; one of scales/sizes is given (an empty tensor counts as absent).
            if (Opt(x, 2) is { Length: > 0 } s) scales = s.Floats;
            if (Opt(x, 3) is { Length: > 0 } z) sizes = z.Longs;
        }
        int h = input.Shape[2], w = input.Shape[3];
        int outH, outW; float sh, sw;
        if (sizes != null)
        {
            if (sizes.Length != 4) throw new VisionException($"{n.Describe}: sizes must have 4 values");
            if (sizes[0] != input.Shape[0] || sizes[1] != input.Shape[1]) throw new VisionException($"{n.Describe}: resizing the batch or channel axis is not supported");
            outH = (int)sizes[2]; outW = (int)sizes[3]; sh = outH / (float)h; sw = outW / (float)w;
        }
        else if (scales != null && scales.Length == 4)
        {
            if (scales[0] != 1 || scales[1] != 1) throw new VisionException($"{n.Describe}: resizing the batch or channel axis is not supported");
            sh = scales[2]; sw = scales[3];
            outH = (int)Math.Floor(h * sh); outW = (int)Math.Floor(w * sw);
        }
        else throw new VisionException($"{n.Describe}: needs 4 scales or 4 sizes");
        string mode = n.Str("mode", "nearest");
        // Before opset 11 there was no coordinate mode: nearest and linear both used the asymmetric mapping.
        string coord = ctx.Opset < 11 || n.OpType == "Upsample" ? "asymmetric" : n.Str("coordinate_transformation_mode", "half_pixel");
        string nearest = ctx.Opset < 11 || n.OpType == "Upsample" ? "floor" : n.Str("nearest_mode", "round_prefer_floor");
        return Resize.Forward(input, outH, outW, sh, sw, mode, coord, nearest);
    }
}
