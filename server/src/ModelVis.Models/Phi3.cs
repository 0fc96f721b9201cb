using ModelVis.Tensors;
using ModelVis.Checkpoints;

namespace ModelVis.Models;

/// <summary>
/// Phi-3 (and Phi-3.5, Phi-4-mini): Llama's math with fused projections, partial rotary and longrope.
/// <code>
///   h = embed_tokens[ids]
///   per layer:  x = rms(h);  q | k | v = x·W_qkv_proj                       one matrix, rows [H·hd of q | KV·hd of k | KV·hd of v]
///               q, k = rope(q), rope(k)                                      only the first rotary_dim = int(hd · partial_rotary_factor) channels
///               h = h + o_proj(attention(q, k, v))                           causal, sliding_window; GQA
///               gate | up = rms(h)·W_gate_up_proj                            one matrix, rows [I of gate | I of up]
///               h = h + down(up * silu(gate))
///   logits = lm_head(norm(h))
/// </code>
/// Longrope (rope_scaling type "longrope", or the older "su"/"yarn"): inv_freq[j] = 1 / (factor[j] · θ^(2j/rotary_dim)),
/// with short_factor while the sequence fits original_max_position_embeddings and long_factor for every position
/// once it does not; cos and sin scaled by √(1 + ln(max_positions / original) / ln(original)).
/// </summary>
public sealed class Phi3 : Llama
{
    Phi3(ModelConfig config, string folder, Weights w) : base(config, folder, w, fusedProjections: true) { }

    internal static new Phi3 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);
}
