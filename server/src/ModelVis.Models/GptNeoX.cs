using ModelVis.Checkpoints;
using ModelVis.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ModelVis.Models;

/// <summary>
/// GPT-NeoX (EleutherAI's Pythia suite): LayerNorm with bias, rotary on part of each head, and attention and MLP
/// side by side on the same input.
/// <code>
///   h = embed_in[ids]                                                        no position embeddings
///   per layer:  qkv = ln₁(h)·W_query_key_value + b                           per head h: columns [q_h | k_h | v_h], 3·hd wide
///               q, k = rope(q), rope(k)                                      only the first rotary_dim = int(hd · rotary_pct) channels
///               a = dense(softmax(q·kᵀ / √hd + mask) · v)                    causal
///               parallel:    h = h + a + dense_4h_to_h(gelu(dense_h_to_4h(ln₂(h))))      both read the block input
///               sequential:  h = h + a;  h = h + dense_4h_to_h(gelu(dense_h_to_4h(ln₂(h))))
///   logits = final_layer_norm(h)·embed_outᵀ                                  untied by default
/// </code>
/// With the parallel residual, the attention output waits in a work buffer until the MLP block adds both.
/// </summary>
public sealed class GptNeoX : LanguageModel
{
    sealed record Layer(LayerNormWeights Ln1, Linear Qkv, Linear Dense, LayerNormWeights Ln2, Linear Up, Linear Down);

    const int ParallelAttentionSlot = 5;

    readonly TokenEmbedding _embedding;
    readonly Layer[] _layers;
    readonly LayerNormWeights _finalNorm;
    readonly Rotary _rotary;

    GptNeoX(ModelConfig config, string folder, Weights w) : base(config, folder)
    {
        int d = config.Hidden, I = config.Intermediate, V = config.Vocab;
        w.Prefix = w.FindPrefix("embed_in.weight", "gpt_neox.", "") ?? "gpt_neox.";
        _embedding = new TokenEmbedding(w, "embed_in.weight", "embed_out.weight", config.TieWordEmbeddings, V, d);
        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            _layers[i] = new Layer(
                LayerNormWeights.Read(w, p + "input_layernorm", d, config.NormEps),
                new Linear(w.LinearWeight(p + "attention.query_key_value.weight", 3 * d, d), w.OptionalFloats(p + "attention.query_key_value.bias", 3 * d)),
                new Linear(w.LinearWeight(p + "attention.dense.weight", d, d), w.OptionalFloats(p + "attention.dense.bias", d)),
                LayerNormWeights.Read(w, p + "post_attention_layernorm", d, config.NormEps),
                new Linear(w.LinearWeight(p + "mlp.dense_h_to_4h.weight", I, d), w.OptionalFloats(p + "mlp.dense_h_to_4h.bias", I)),
                new Linear(w.LinearWeight(p + "mlp.dense_4h_to_h.weight", d, I), w.OptionalFloats(p + "mlp.dense_4h_to_h.bias", d)));
        }
        _finalNorm = LayerNormWeights.Read(w, "final_layer_norm", d, config.NormEps);
        try { _rotary = new Rotary(config.RotaryDim, config.RopeTheta, config.MaxPositions, config.RopeScaling); }
        catch (ArgumentException e) { throw new ModelException($"{config.ModelType}: {e.Message}", e); }
    }

    internal static GptNeoX Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override float[] Embed(Sequence seq)
    {
        var h = Scratch((long)seq.N * Config.Hidden);
        _embedding.Lookup(seq.Input.Ids, h);
        return h;
    }

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var l = _layers[layer];
        int n = seq.N, d = Config.Hidden, hd = Config.HeadDim, H = Config.Heads;
        var x = seq.Work(0, (long)n * d);
        l.Ln1.Apply(h, n, x);
        var qkv = seq.Work(1, (long)n * 3 * d);
        l.Qkv.Forward(x, n, qkv);                                          // per head: [q_h | k_h | v_h]
        var (cos, sin) = seq.RotaryTables(_rotary);
        _rotary.Apply(qkv, n, 3 * d, 0, H, cos, sin, headStride: 3 * hd);
        _rotary.Apply(qkv, n, 3 * d, hd, H, cos, sin, headStride: 3 * hd);
        Device.Attend(qkv, n, 3 * d, 0, hd, 2 * hd, H, H, hd, MathF.Sqrt(hd), MaskOf(seq, layer), x, probabilities, headStride: 3 * hd);
        seq.Hooks?.HeadOutputs(layer, x, n);
        var a = Config.ParallelResidual ? seq.Work(ParallelAttentionSlot, (long)n * d) : seq.Work(2, (long)n * d);
        l.Dense.Forward(x, n, a);
        if (!Config.ParallelResidual) AddInto(h, a);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var l = _layers[layer];
        var x = DenseMlp(layer, l.Ln2, l.Up, l.Down, h, seq, activations);       // dense_4h_to_h(gelu(dense_h_to_4h(ln₂(h))))
        seq.Hooks?.MlpOutput(layer, x, seq.N);
        if (Config.ParallelResidual) TensorPrimitives.Add(x, seq.Work(ParallelAttentionSlot, (long)seq.N * Config.Hidden), x);   // mlp + attn, then + h
        AddInto(h, x);
    }

    protected override void FinalNorm(Span<float> h, int rows) => _finalNorm.Apply(h, rows, h);

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits) => _embedding.Head(h, rows, logits);

    protected override Linear? DirectOutputProjection(int layer) => _layers[layer].Dense;

    public override FinalNormSpec FinalNormParameters => new(true, _finalNorm.Gamma, _finalNorm.Beta, _finalNorm.Eps);

    protected override void UnembeddingRow(int id, Span<float> row) => _embedding.HeadRow(id, row);

    protected override void EmbeddingRow(int id, Span<float> row) => _embedding.Row(id, row);
}
