namespace ModelVis.Models;

/// <summary>
/// Hooks into a forward pass at the three places interpretability reads from or writes to (TransformerLens'
/// <c>resid_pre</c>, <c>z</c> and <c>mlp_out</c>). Each hook gets the live buffer of the pass: reading it is a
/// capture, changing it in place is an intervention (activation patching), and everything downstream sees the change.
/// Every decoder family calls them (T5: its decoder stack, with its cross-attention heads apart); the default does nothing, so a hook class overrides only what it needs.
/// </summary>
public abstract class ForwardHooks
{
    /// <summary>
    /// The residual stream h [n, d] entering layer <paramref name="layer"/> (layer 0: the embedding output,
    /// hidden_states.0); for <paramref name="layer"/> = L, the final residual before the final norm.
    /// </summary>
    public virtual void Residual(int layer, float[] h, int n) { }

    /// <summary>
    /// z [n, heads·head_dim] of layer <paramref name="layer"/>: each query head's attention output (probabilities · V)
    /// before the output projection, head h in columns h·head_dim .. (h+1)·head_dim−1.
    /// </summary>
    public virtual void HeadOutputs(int layer, float[] z, int n) { }

    /// <summary>z [n, heads·head_dim] of decoder block <paramref name="layer"/>'s cross-attention (encoder-decoders), laid out as <see cref="HeadOutputs"/>.</summary>
    public virtual void CrossHeadOutputs(int layer, float[] z, int n) { }

    /// <summary>The MLP sub-block's output [n, d] exactly as it is added to the residual stream (after any post-norm).</summary>
    public virtual void MlpOutput(int layer, float[] output, int n) { }
}

/// <summary>
/// The final norm as an affine map once its scale is known: y = (x − mean(x))·Gain/s + Bias for a LayerNorm
/// (<paramref name="Centred"/>), y = x·Gain/s for an RMSNorm. What direct logit attribution needs to freeze it.
/// </summary>
public sealed record FinalNormSpec(bool Centred, float[] Gain, float[]? Bias, float Eps)
{
    /// <summary>The norm's denominator s of the full residual <paramref name="x"/>: √(var(x) + eps) (biased) or √(mean(x²) + eps).</summary>
    public double Scale(ReadOnlySpan<float> x)
    {
        double mean = 0;
        if (Centred)
        {
            foreach (var v in x) mean += v;
            mean /= x.Length;
        }
        double sq = 0;
        foreach (var v in x) sq += (v - mean) * (v - mean);
        return Math.Sqrt(sq / x.Length + Eps);
    }
}

/// <summary>
/// What one layer's attention heads write into the residual stream at one position: <paramref name="Heads"/> [heads, d]
/// (head h in row h) and the output bias <paramref name="Bias"/> [d], which add up to the sub-block's output.
/// <paramref name="PostNormScale"/> is the post-norm's scale s frozen at the pass's value (null: no post-norm, the
/// writes are exact terms; set: each is a term only with s held fixed).
/// </summary>
public sealed record AttentionWrites(float[] Heads, float[] Bias, double? PostNormScale);
