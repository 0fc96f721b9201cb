using ModelVis.Tensors;
using ModelVis.Checkpoints;

namespace ModelVis.Models;

/// <summary>
/// The Llama family (llama, mistral, qwen2): a pre-norm decoder with RMSNorm, rotary positions, grouped-query
/// attention and a SwiGLU MLP.
/// <code>
///   h = embed_tokens[ids]
///   per layer:  x = rms(h);  q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv)     Qwen2 has the biases
///               q, k = rope(q), rope(k)                                      HF rotate_half, rope_theta, rope_scaling
///               h = h + o_proj(attention(q, k, v))                           causal; query head j uses kv head j / (H/KV)
///               h = h + down(silu(gate(rms(h))) * up(rms(h)))
///   logits = lm_head(norm(h))                                                lm_head tied to embed_tokens when the config says so
/// </code>
/// Qwen3 and Phi-3 are this model with a twist each (their own files); the shared pieces are in <see cref="RotaryDecoder"/>.
/// </summary>
public class Llama : RotaryDecoder
{
    readonly float[][] _inputNorm, _postNorm;

    private protected Llama(ModelConfig config, string folder, Weights w, bool fusedProjections = false)
        : base(config, folder, w, fusedProjections)
    {
        int d = config.Hidden;
        _inputNorm = new float[config.Layers][];
        _postNorm = new float[config.Layers][];
        for (int i = 0; i < config.Layers; i++)
        {
            _inputNorm[i] = w.Floats($"layers.{i}.input_layernorm.weight", d);
            _postNorm[i] = w.Floats($"layers.{i}.post_attention_layernorm.weight", d);
        }
    }

    internal static Llama Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var x = seq.Work(0, (long)seq.N * Config.Hidden);
        RmsNorm(h, seq.N, _inputNorm[layer], x);
        SelfAttention(layer, x, seq, probabilities, x);
        AddInto(h, x);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var x = seq.Work(0, (long)seq.N * Config.Hidden);
        RmsNorm(h, seq.N, _postNorm[layer], x);
        GatedMlp(layer, x, seq, activations, x);
        seq.Hooks?.MlpOutput(layer, x, seq.N);
        AddInto(h, x);
    }
}
