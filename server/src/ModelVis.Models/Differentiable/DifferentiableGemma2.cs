using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Gemma2"/> on the tape: norms on both sides of each sub-block, soft-capped scores and logits, and a sliding
/// window on alternating layers.
/// <code>
///   h = e · float32(√d)                                                     e is the row before the scale
///   per layer:  h = h + rms₂(o_proj(softmax(cap(q·kᵀ / √query_pre_attn_scalar) + mask) · v))   of x = rms₁(h); sliding layers: a window
///               h = h + rms₄(down(gelu_tanh(gate(rms₃(h))) ⊙ up(rms₃(h))))
///   logits[position, t] = cap · tanh(norm(h[position]) · embed_tokens[t] / cap)                final_logit_softcapping
/// </code>
/// rmsᵢ(x) = x / √(mean(x²) + eps) · (1 + wᵢ): input_layernorm, post_attention_layernorm, pre_feedforward_layernorm,
/// post_feedforward_layernorm.
/// </summary>
class DifferentiableGemma2 : DifferentiableRotaryDecoder
{
    sealed record SandwichNorms(Var<float> Input, Var<float> PostAttention, Var<float> PreFeedforward, Var<float> PostFeedforward);

    readonly SandwichNorms[] _norms;
    /// <summary>√d rounded to float32, as HF's <c>torch.tensor(hidden_size**0.5, dtype)</c>.</summary>
    readonly float _embedScale;

    public DifferentiableGemma2(ModelConfig config, ICheckpoint checkpoint, Weights w, params string[] prefixes)
        : base(config, checkpoint, w, zeroCentredNorms: true, prefixes: prefixes)
    {
        int d = config.Hidden;
        _embedScale = (float)Math.Sqrt(d);
        _norms = [.. Enumerable.Range(0, config.Layers).Select(i => new SandwichNorms(
            Gain(w, $"layers.{i}.input_layernorm.weight", d), Gain(w, $"layers.{i}.post_attention_layernorm.weight", d),
            Gain(w, $"layers.{i}.pre_feedforward_layernorm.weight", d), Gain(w, $"layers.{i}.post_feedforward_layernorm.weight", d)))];
    }

    private protected override Var<float> Embed(Tape<float> tape, Var<float> e) => tape.Scale(e, _embedScale);

    private protected override Var<float> AttentionBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, RmsNorm(tape, SelfAttention(tape, layer, RmsNorm(tape, h, _norms[layer].Input), pass), _norms[layer].PostAttention));

    private protected override Var<float> MlpBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, RmsNorm(tape, GatedMlp(tape, layer, RmsNorm(tape, h, _norms[layer].PreFeedforward)), _norms[layer].PostFeedforward));
}
