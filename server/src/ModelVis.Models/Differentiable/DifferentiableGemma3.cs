using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Gemma3"/> on the tape: Gemma 2's layer with q/k norms and two RoPE bases.
/// <code>
///   q_h = rms(q_h)·(1 + q_norm),  k_h = rms(k_h)·(1 + k_norm)    each head over head_dim, before RoPE
///   q, k = rope_local(q, k) on sliding layers                    base rope_local_base_freq, no scaling
///          rope_global(q, k) on the others                       base rope_theta, rope_scaling
/// </code>
/// Scores are not soft-capped (the config's attn_logit_softcapping is ignored, as the engine and transformers do), and the
/// logits only when final_logit_softcapping is set.
/// </summary>
sealed class DifferentiableGemma3 : DifferentiableGemma2
{
    readonly Var<float>[] _qNorm, _kNorm;
    readonly Rotary _localRotary;

    public DifferentiableGemma3(ModelConfig config, ICheckpoint checkpoint, Weights w)
        : base(config, checkpoint, w, "model.", "model.language_model.", "language_model.model.", "")
    {
        _qNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.self_attn.q_norm.weight", config.HeadDim))];
        _kNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.self_attn.k_norm.weight", config.HeadDim))];
        _localRotary = NewRotary(config.RopeLocalTheta ?? 10000, null);
    }

    private protected override (Var<float> Q, Var<float> K) NormalizeQueriesAndKeys(Tape<float> tape, int layer, Var<float> q, Var<float> k) =>
        (tape.HeadRmsNorm(q, _qNorm[layer], Config.NormEps), tape.HeadRmsNorm(k, _kNorm[layer], Config.NormEps));

    private protected override Rotary RotaryOf(int layer) => Config.SlidingLayers?[layer] == true ? _localRotary : base.RotaryOf(layer);
}
