using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// Gemma 3 (the text model, gemma3_text; or the language model inside a multimodal gemma3 checkpoint): Gemma 2's
/// layer with q/k norms and two RoPE bases.
/// <code>
///   h = embed_tokens[ids] · float32(√d)
///   per layer:  x = rms₁(h);  q, k, v = x·Wq, x·Wk, x·Wv                    rmsᵢ(x) = x / √(mean(x²) + eps) · (1 + wᵢ)
///               q_h = rms(q_h)·(1 + q_norm),  k_h = rms(k_h)·(1 + k_norm)    each head over head_dim, before RoPE
///               q, k = rope_local(q, k) on sliding layers                   base rope_local_base_freq, no scaling
///                      rope_global(q, k) on the others                      base rope_theta, rope_scaling
///               h = h + rms₂(o_proj(softmax(q·kᵀ / √query_pre_attn_scalar + mask) · v))
///               h = h + rms₄(down(gelu_tanh(gate(rms₃(h))) * up(rms₃(h))))
///   logits = norm(h)·embed_tokensᵀ                                           soft-capped only if final_logit_softcapping is set
/// </code>
/// Which layers slide: layer_types, or every layer but each sliding_window_pattern-th (default 6).
/// As in transformers, no attention soft-capping even when the config names one (released configs say null).
/// </summary>
public sealed class Gemma3 : Gemma2
{
    readonly float[][] _qNorm, _kNorm;
    readonly Rotary _localRotary;

    Gemma3(ModelConfig config, string folder, Weights w)
        : base(config, folder, w, "model.", "model.language_model.", "language_model.model.", "")
    {
        _qNorm = new float[config.Layers][];
        _kNorm = new float[config.Layers][];
        for (int i = 0; i < config.Layers; i++)
        {
            _qNorm[i] = Gain(w, $"layers.{i}.self_attn.q_norm.weight", config.HeadDim);
            _kNorm[i] = Gain(w, $"layers.{i}.self_attn.k_norm.weight", config.HeadDim);
        }
        _localRotary = NewRotary(config.RopeLocalTheta ?? 10000, null);
    }

    internal static new Gemma3 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override IReadOnlyList<RowNorm> QueryKeyNorms(int layer) =>
        [new(0, Config.Heads, Config.HeadDim, _qNorm[layer], Config.NormEps), new(QWidth, Config.KvHeads, Config.HeadDim, _kNorm[layer], Config.NormEps)];

    protected override Rotary RotaryOf(int layer) => Config.SlidingLayers?[layer] == true ? _localRotary : base.RotaryOf(layer);
}
