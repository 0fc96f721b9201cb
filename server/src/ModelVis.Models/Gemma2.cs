using ModelVis.Checkpoints;
using ModelVis.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ModelVis.Models;

/// <summary>
/// Gemma 2: a decoder with norms on both sides of each sub-block, soft-capped scores and logits, and a sliding
/// window on alternating layers.
/// <code>
///   h = embed_tokens[ids] · float32(√d)                                     hidden_states.0 is the scaled embedding
///   per layer:  x = rms₁(h);  q, k, v = x·Wq, x·Wk, x·Wv                    rmsᵢ(x) = x / √(mean(x²) + eps) · (1 + wᵢ)
///               q, k = rope(q), rope(k)
///               s = q·kᵀ / √query_pre_attn_scalar                           not √head_dim
///               s = cap · tanh(s / cap)                                      attn_logit_softcapping, before the mask
///               h = h + rms₂(o_proj(softmax(s + mask) · v))                  sliding layers: q − window &lt; k ≤ q; GQA
///               h = h + rms₄(down(gelu_tanh(gate(rms₃(h))) * up(rms₃(h))))
///   logits = cap · tanh(norm(h)·embed_tokensᵀ / cap)                         final_logit_softcapping; tied head
/// </code>
/// rms₁..₄ are input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;
/// which layers slide comes from layer_types (older configs: the even layers).
/// </summary>
public class Gemma2 : RotaryDecoder
{
    sealed record SandwichNorms(float[] Input, float[] PostAttention, float[] PreFeedforward, float[] PostFeedforward);

    readonly SandwichNorms[] _norms;
    /// <summary>√d rounded to float32, as HF's <c>torch.tensor(hidden_size**0.5, dtype)</c>.</summary>
    readonly float _embedScale;

    private protected Gemma2(ModelConfig config, string folder, Weights w, params string[] prefixes)
        : base(config, folder, w, zeroCentredNorms: true, prefixes: prefixes)
    {
        int d = config.Hidden;
        _embedScale = (float)Math.Sqrt(d);
        _norms = new SandwichNorms[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            _norms[i] = new SandwichNorms(Gain(w, p + "input_layernorm.weight", d), Gain(w, p + "post_attention_layernorm.weight", d),
                Gain(w, p + "pre_feedforward_layernorm.weight", d), Gain(w, p + "post_feedforward_layernorm.weight", d));
        }
    }

    internal static Gemma2 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override float[] Embed(Sequence seq)
    {
        var h = base.Embed(seq);
        TensorPrimitives.Multiply(h, _embedScale, h);
        return h;
    }

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities) =>
        Sandwich(h, seq, _norms[layer].Input, _norms[layer].PostAttention, x => SelfAttention(layer, x, seq, probabilities, x));

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations) =>
        Sandwich(h, seq, _norms[layer].PreFeedforward, _norms[layer].PostFeedforward, x => GatedMlp(layer, x, seq, activations, x),
            x => seq.Hooks?.MlpOutput(layer, x, seq.N));

    /// <summary>h = h + rms_post(sublayer(rms_pre(h))); the sublayer works in place on its input rows; <paramref name="added"/> sees what is added.</summary>
    void Sandwich(float[] h, Sequence seq, float[] pre, float[] post, Action<float[]> sublayer, Action<float[]>? added = null)
    {
        var x = seq.Work(0, (long)seq.N * Config.Hidden);
        RmsNorm(h, seq.N, pre, x);
        sublayer(x);
        RmsNorm(x, seq.N, post, x);
        added?.Invoke(x);
        AddInto(h, x);
    }

    /// <summary>post_attention_layernorm follows o_proj: the heads' writes are terms only with its scale frozen.</summary>
    protected override float[] AttentionPostNormGain(int layer) => _norms[layer].PostAttention;
}
