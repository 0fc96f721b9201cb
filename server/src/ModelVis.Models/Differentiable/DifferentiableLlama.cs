using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Llama"/> (llama, mistral, qwen2) on the tape, from the token rows e:
/// <code>
///   h = e
///   per layer:  x = rms(h);  q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv);  q, k = rope(q), rope(k)
///               h = h + o_proj(attention(q, k, v))                        causal (sliding window for Mistral), GQA
///               h = h + down(silu(gate(rms(h))) ⊙ up(rms(h)))
///   logits[position, t] = norm(h[position]) · W_U[t]                      W_U = lm_head, or embed_tokens when tied
/// </code>
/// Qwen3 and Phi-3 are this model with a twist each (their own files); the shared pieces are in <see cref="DifferentiableRotaryDecoder"/>.
/// </summary>
class DifferentiableLlama : DifferentiableRotaryDecoder
{
    readonly Var<float>[] _inputNorm, _postNorm;

    public DifferentiableLlama(ModelConfig config, ICheckpoint checkpoint, Weights w, bool fusedProjections = false)
        : base(config, checkpoint, w, fusedProjections)
    {
        _inputNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.input_layernorm.weight", config.Hidden))];
        _postNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.post_attention_layernorm.weight", config.Hidden))];
    }

    private protected override Var<float> AttentionBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, SelfAttention(tape, layer, RmsNorm(tape, h, _inputNorm[layer]), pass));

    private protected override Var<float> MlpBlock(Tape<float> tape, int layer, Var<float> h, Pass pass) =>
        tape.Add(h, GatedMlp(tape, layer, RmsNorm(tape, h, _postNorm[layer])));
}
