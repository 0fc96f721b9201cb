namespace ModelVis.Tensors;

/// <summary>
/// RMSNorm of <see cref="Count"/> vectors of <see cref="Dim"/> values from <see cref="Offset"/> in each row of a wider
/// matrix: a query or key norm, per head (Qwen3, Gemma 3: Count = heads, Dim = head_dim) or over all heads at once (OLMo 2).
/// </summary>
public sealed record RowNorm(int Offset, int Count, int Dim, float[] Gain, float Eps)
{
    /// <summary>In place, in <paramref name="n"/> rows of <paramref name="width"/>.</summary>
    public void Apply(Span<float> rows, int n, int width)
    {
        for (int r = 0; r < n; r++)
        {
            var span = rows.Slice(r * width + Offset, Count * Dim);
            Norms.RmsNorm(span, Count, Dim, Gain, Eps, span);
        }
    }
}

/// <summary>
/// One rotary decoder layer's attention sublayer, from its input rows x to what it adds to the residual stream:
/// <code>
///   q | k | v = x·W_qkv (+b)
///   q, k = norm(q), norm(k)                       the family's query/key norms, if any
///   q, k = rope(q), rope(k)                       HF rotate_half on the first rotary dimensions of each head
///   output = o_proj(softmax(cap(q·kᵀ / scale) + mask) · v)
/// </code>
/// A <see cref="ComputeDevice"/> runs it (<see cref="ComputeDevice.SelfAttention"/>); <see cref="Run"/> is the CPU's way.
/// </summary>
public sealed record RotaryAttention(Linear Qkv, Linear O, int Heads, int KvHeads, int HeadDim, float ScaleDivisor, float SoftCap,
    IReadOnlyList<RowNorm> QueryKeyNorms, Rotary Rotary, float[] Cos, float[] Sin, AttentionMask Mask)
{
    public int QWidth => Heads * HeadDim;
    public int KvWidth => KvHeads * HeadDim;
    /// <summary>Columns of the projected rows [q | k | v].</summary>
    public int Width => QWidth + 2 * KvWidth;

    /// <summary>
    /// On the CPU: <paramref name="output"/> [n, d] from <paramref name="x"/> [n, d] (which may be the same buffer), through the
    /// work buffers <paramref name="qkv"/> [n, Width] and <paramref name="context"/> [n, QWidth]; <paramref name="onHeadOutputs"/>
    /// sees (and may change) the heads' outputs before o_proj.
    /// </summary>
    public void Run(ReadOnlySpan<float> x, int n, float[] qkv, float[] context, Span<float> probabilities, Action<float[]>? onHeadOutputs, Span<float> output)
    {
        int width = Width;
        Qkv.Forward(x, n, qkv);
        foreach (var norm in QueryKeyNorms) norm.Apply(qkv, n, width);
        Rotary.Apply(qkv, n, width, 0, Heads, Cos, Sin, HeadDim);
        Rotary.Apply(qkv, n, width, QWidth, KvHeads, Cos, Sin, HeadDim);
        Attention.Compute(qkv, n, width, 0, QWidth, QWidth + KvWidth, Heads, KvHeads, HeadDim, ScaleDivisor, Mask, context, probabilities, SoftCap);
        onHeadOutputs?.Invoke(context);
        O.Forward(context, n, output);
    }
}
