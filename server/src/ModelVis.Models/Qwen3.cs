using ModelVis.Tensors;
using ModelVis.Checkpoints;

namespace ModelVis.Models;

/// <summary>
/// Qwen3: Llama with an RMSNorm on every query and key head before RoPE.
/// <code>
///   h = embed_tokens[ids]
///   per layer:  x = rms(h);  q, k, v = x·Wq, x·Wk, x·Wv                     no biases; head_dim explicit (H·head_dim may differ from d)
///               q_h = rms(q_h)·q_norm,  k_h = rms(k_h)·k_norm                each head over head_dim; one gain [head_dim] shared by the heads
///               q, k = rope(q), rope(k)
///               h = h + o_proj(attention(q, k, v))                           causal; scores / √head_dim; GQA
///               h = h + down(silu(gate(rms(h))) * up(rms(h)))
///   logits = lm_head(norm(h))                                                tied when tie_word_embeddings
/// </code>
/// </summary>
public sealed class Qwen3 : Llama
{
    readonly float[][] _qNorm, _kNorm;

    Qwen3(ModelConfig config, string folder, Weights w) : base(config, folder, w)
    {
        _qNorm = new float[config.Layers][];
        _kNorm = new float[config.Layers][];
        for (int i = 0; i < config.Layers; i++)
        {
            _qNorm[i] = w.Floats($"layers.{i}.self_attn.q_norm.weight", config.HeadDim);
            _kNorm[i] = w.Floats($"layers.{i}.self_attn.k_norm.weight", config.HeadDim);
        }
    }

    internal static new Qwen3 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override IReadOnlyList<RowNorm> QueryKeyNorms(int layer) =>
        [new(0, Config.Heads, Config.HeadDim, _qNorm[layer], Config.NormEps), new(QWidth, Config.KvHeads, Config.HeadDim, _kNorm[layer], Config.NormEps)];
}
