using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Qwen3"/> on the tape: Llama with an RMSNorm on every query and key head before RoPE.
/// <code>
///   q_h = rms(q_h)·q_norm,  k_h = rms(k_h)·k_norm                each head over head_dim; one gain [head_dim] shared by the heads
/// </code>
/// </summary>
sealed class DifferentiableQwen3 : DifferentiableLlama
{
    readonly Var<float>[] _qNorm, _kNorm;

    public DifferentiableQwen3(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint, w)
    {
        _qNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.self_attn.q_norm.weight", config.HeadDim))];
        _kNorm = [.. Enumerable.Range(0, config.Layers).Select(i => Gain(w, $"layers.{i}.self_attn.k_norm.weight", config.HeadDim))];
    }

    private protected override (Var<float> Q, Var<float> K) NormalizeQueriesAndKeys(Tape<float> tape, int layer, Var<float> q, Var<float> k) =>
        (tape.HeadRmsNorm(q, _qNorm[layer], Config.NormEps), tape.HeadRmsNorm(k, _kNorm[layer], Config.NormEps));
}
