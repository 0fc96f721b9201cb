using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Olmo2"/> on the tape: norms after each sub-block instead of before, and q/k norms over the whole projection.
/// <code>
///   h = e
///   per layer:  q, k, v = h·Wq, h·Wk, h·Wv                                  the sub-block reads h itself: no input norm
///               q = rms(q)·q_norm,  k = rms(k)·k_norm                        over all H·hd (and KV·hd) features, before the head split
///               q, k = rope(q), rope(k)
///               h = h + rms(o_proj(attention(q, k, v)))·post_attention_layernorm
///               h = h + rms(down(silu(gate(h)) ⊙ up(h)))·post_feedforward_layernorm
///   logits[position, t] = norm(h[position]) · lm_head[t]
/// </code>
/// </summary>
sealed class DifferentiableOlmo2 : DifferentiableRotaryDecoder
{
    readonly Var<float>[] _qNorm, _kNorm, _postAttention, _postFeedforward;

    public DifferentiableOlmo2(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint, w)
    {
        Var<float>[] PerLayer(string name, int dim) => [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.{name}", dim))];
        _qNorm = PerLayer("self_attn.q_norm.weight", QWidth);
        _kNorm = PerLayer("self_attn.k_norm.weight", KvWidth);
        _postAttention = PerLayer("post_attention_layernorm.weight", config.Hidden);
        _postFeedforward = PerLayer("post_feedforward_layernorm.weight", config.Hidden);
    }

    private protected override (Var<float> Q, Var<float> K) NormalizeQueriesAndKeys(Tape<float> tape, int layer, Var<float> q, Var<float> k) =>
        (RmsNorm(tape, q, _qNorm[layer]), RmsNorm(tape, k, _kNorm[layer]));

    private protected override Var<float> AttentionBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, RmsNorm(tape, SelfAttention(tape, layer, h, pass), _postAttention[layer]));

    private protected override Var<float> MlpBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, RmsNorm(tape, GatedMlp(tape, layer, h), _postFeedforward[layer]));
}
