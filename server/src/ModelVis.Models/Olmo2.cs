using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// OLMo 2: norms after each sub-block instead of before, and q/k norms over the whole projection.
/// <code>
///   h = embed_tokens[ids]
///   per layer:  q, k, v = h·Wq, h·Wk, h·Wv                                  the sub-block reads h itself: no input norm
///               q = rms(q)·q_norm,  k = rms(k)·k_norm                        over all H·hd (and KV·hd) features, before the head split
///               q, k = rope(q), rope(k)
///               h = h + rms(o_proj(attention(q, k, v)))·post_attention_layernorm      causal; scores / √head_dim; GQA
///               h = h + rms(down(silu(gate(h)) * up(h)))·post_feedforward_layernorm
///   logits = lm_head(norm(h))                                                untied by default
/// </code>
/// </summary>
public sealed class Olmo2 : RotaryDecoder
{
    readonly float[][] _qNorm, _kNorm, _postAttention, _postFeedforward;

    Olmo2(ModelConfig config, string folder, Weights w) : base(config, folder, w)
    {
        int L = config.Layers, d = config.Hidden;
        _qNorm = new float[L][];
        _kNorm = new float[L][];
        _postAttention = new float[L][];
        _postFeedforward = new float[L][];
        for (int i = 0; i < L; i++)
        {
            string p = $"layers.{i}.";
            _qNorm[i] = w.Floats(p + "self_attn.q_norm.weight", QWidth);
            _kNorm[i] = w.Floats(p + "self_attn.k_norm.weight", KvWidth);
            _postAttention[i] = w.Floats(p + "post_attention_layernorm.weight", d);
            _postFeedforward[i] = w.Floats(p + "post_feedforward_layernorm.weight", d);
        }
    }

    internal static Olmo2 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override IReadOnlyList<RowNorm> QueryKeyNorms(int layer) =>
        [new(0, 1, QWidth, _qNorm[layer], Config.NormEps), new(QWidth, 1, KvWidth, _kNorm[layer], Config.NormEps)];

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var a = seq.Work(0, (long)seq.N * Config.Hidden);
        SelfAttention(layer, h, seq, probabilities, a);
        RmsNorm(a, seq.N, _postAttention[layer], a);
        AddInto(h, a);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var m = seq.Work(0, (long)seq.N * Config.Hidden);
        GatedMlp(layer, h, seq, activations, m);
        RmsNorm(m, seq.N, _postFeedforward[layer], m);
        seq.Hooks?.MlpOutput(layer, m, seq.N);
        AddInto(h, m);
    }

    /// <summary>post_attention_layernorm follows o_proj: the heads' writes are terms only with its scale frozen.</summary>
    protected override float[] AttentionPostNormGain(int layer) => _postAttention[layer];
}
