namespace ModelVis.Vision.Ops;

/// <summary>Batch normalisation (inference form) and softmax.</summary>
public static class Normalization
{
    /// <summary>y = (x − mean) / sqrt(var + ε) · scale + bias, per channel (axis 1).</summary>
    public static NdArray BatchNorm(NdArray x, NdArray scale, NdArray bias, NdArray mean, NdArray variance, float epsilon)
    {
        if (x.Rank < 2) throw new VisionException($"BatchNormalization expects [N, C, ...], got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], size = x.Length / Math.Max(1, n * c);
        foreach (var (p, name) in new[] { (scale, "scale"), (bias, "bias"), (mean, "mean"), (variance, "var") })
            if (p.Length != c) throw new VisionException($"BatchNormalization: {name} has {p.Length} values for {c} channels");
        var s = scale.Floats; var b = bias.Floats; var mu = mean.Floats; var v = variance.Floats;
        var src = x.Floats;
        var dst = new float[src.Length];
        for (int i = 0; i < n * c; i++)
        {
            int ch = i % c;
            float inv = s[ch] / MathF.Sqrt(v[ch] + epsilon);
            float shift = b[ch] - mu[ch] * inv;
            var plane = src.AsSpan(i * size, size);
            var output = dst.AsSpan(i * size, size);
            System.Numerics.Tensors.TensorPrimitives.Multiply(plane, inv, output);
            System.Numerics.Tensors.TensorPrimitives.Add(output, shift, output);
        }
        return NdArray.Of(dst, x.Shape);
    }

    /// <summary>
    /// Softmax. From opset 13 it normalises along <paramref name="axis"/> only; before that the input is seen as a
    /// 2-D matrix [prod(dims before axis), prod(dims from axis on)] and each row is normalised.
    /// </summary>
    public static NdArray Softmax(NdArray x, int axis, bool coerceTo2D, bool log = false)
    {
        if (axis < 0) axis += x.Rank;
        if (axis < 0 || axis >= Math.Max(1, x.Rank)) throw new VisionException($"Softmax: axis out of range for {x.ShapeString}");
        int outer = 1, length, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.Shape[d];
        if (coerceTo2D)
        {
            length = 1;
            for (int d = axis; d < x.Rank; d++) length *= x.Shape[d];
        }
        else
        {
            length = x.Rank == 0 ? 1 : x.Shape[axis];
            for (int d = axis + 1; d < x.Rank; d++) inner *= x.Shape[d];
        }
        var src = x.Floats;
        var dst = new float[src.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * length * inner + i;
                float max = float.NegativeInfinity;
                for (int j = 0; j < length; j++) max = Math.Max(max, src[start + j * inner]);
                double sum = 0;
                for (int j = 0; j < length; j++) sum += Math.Exp(src[start + j * inner] - max);
                for (int j = 0; j < length; j++)
                {
                    int at = start + j * inner;
                    dst[at] = log ? (float)(src[at] - max - Math.Log(sum)) : (float)(Math.Exp(src[at] - max) / sum);
                }
            }
        return NdArray.Of(dst, x.Shape);
    }
}
