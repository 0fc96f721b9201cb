using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Phi3"/> on the tape: Llama's math from fused checkpoints (qkv_proj, gate_up_proj: split at load), with partial
/// rotary and longrope coming in through the engine's rotary tables and sliding_window through the mask.
/// </summary>
sealed class DifferentiablePhi3(ModelConfig config, ICheckpoint checkpoint, Weights w)
    : DifferentiableLlama(config, checkpoint, w, fusedProjections: true);
