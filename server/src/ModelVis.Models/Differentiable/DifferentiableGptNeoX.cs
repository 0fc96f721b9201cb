using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="GptNeoX"/> (Pythia) on the tape, from the token rows e:
/// <code>
///   h = e                                                                    no position embeddings
///   per layer:  q, k, v = ln₁(h)·Wq + bq, ln₁(h)·Wk + bk, ln₁(h)·Wv + bv
///               q, k = rope(q), rope(k)                                      only the first rotary_dim = int(hd · rotary_pct) channels
///               a = dense(attention(q, k, v))                                causal; scores / √hd
///               parallel:    h = h + a + mlp(ln₂(h))                          both read the block input
///               sequential:  h = h + a;  h = h + mlp(ln₂(h))                  mlp(x) = dense_4h_to_h(gelu(dense_h_to_4h(x)))
///   logits[position, t] = final_layer_norm(h[position]) · embed_out[t]
/// </code>
/// query_key_value stores each head's rows together, [q_h | k_h | v_h] of 3·hd rows per head; they are regrouped into
/// Wq, Wk, Wv [H·hd, d] once, at load.
/// </summary>
sealed class DifferentiableGptNeoX : DifferentiableModel
{
    sealed record Layer(Var<float> Ln1W, Var<float> Ln1B, Var<float>[] Qkv, Var<float>[]? QkvBias, Var<float> Dense, Var<float>? DenseBias,
        Var<float> Ln2W, Var<float> Ln2B, Var<float> Up, Var<float>? UpBias, Var<float> Down, Var<float>? DownBias);

    readonly Weights _tokens, _head;
    readonly string _headName;
    readonly Layer[] _layers;
    readonly Var<float> _finalW, _finalB;
    readonly Rotary _rotary;

    public DifferentiableGptNeoX(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint)
    {
        int d = config.Hidden, I = config.Intermediate;
        w.Prefix = w.FindPrefix("embed_in.weight", "gpt_neox.", "") ?? "gpt_neox.";
        (_tokens, _head, _headName) = Unembedding(config, checkpoint, w.Prefix, "embed_in.weight", "embed_out.weight");
        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            _layers[i] = new Layer(
                Vector(w, p + "input_layernorm.weight", d), Vector(w, p + "input_layernorm.bias", d),
                SplitHeads(w.Floats(p + "attention.query_key_value.weight", 3 * d, d), d),
                w.OptionalFloats(p + "attention.query_key_value.bias", 3 * d) is { } b ? SplitHeads(b, 1) : null,
                LinearWeight(w, p + "attention.dense.weight", d, d), OptionalVector(w, p + "attention.dense.bias", d),
                Vector(w, p + "post_attention_layernorm.weight", d), Vector(w, p + "post_attention_layernorm.bias", d),
                LinearWeight(w, p + "mlp.dense_h_to_4h.weight", I, d), OptionalVector(w, p + "mlp.dense_h_to_4h.bias", I),
                LinearWeight(w, p + "mlp.dense_4h_to_h.weight", d, I), OptionalVector(w, p + "mlp.dense_4h_to_h.bias", d));
        }
        _finalW = Vector(w, "final_layer_norm.weight", d);
        _finalB = Vector(w, "final_layer_norm.bias", d);
        _rotary = NewRotary(config.RopeTheta, config.RopeScaling);
    }

    /// <summary>
    /// Rows [3·d, cols] stored per head as [q_h | k_h | v_h] (hd rows each), regrouped into q, k and v [d, cols] with head h's
    /// rows at h·hd (a bias is cols = 1).
    /// </summary>
    Var<float>[] SplitHeads(float[] stored, int cols)
    {
        int H = Config.Heads, hd = Config.HeadDim, block = hd * cols;
        var parts = new float[3][];
        for (int j = 0; j < 3; j++)
        {
            parts[j] = new float[H * block];
            for (int h = 0; h < H; h++) Array.Copy(stored, (3 * h + j) * block, parts[j], h * block, block);
        }
        return [.. parts.Select(part => cols == 1 ? Constant(part, H * hd) : Constant(part, H * hd, cols))];
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _tokens.Rows("embed_in.weight", Config.Vocab, Config.Hidden, ids);

    public override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        int n = input.Ids.Length, d = Config.Hidden, H = Config.Heads, hd = Config.HeadDim;
        double eps = Config.NormEps;
        var shape = new AttentionShape(batch, n, H, H, hd);
        var (cos, sin) = _rotary.Tables(n);
        var h = e;
        for (int layer = 0; layer < _layers.Length; layer++)
        {
            var l = _layers[layer];
            var x = tape.LayerNorm(h, l.Ln1W, l.Ln1B, eps);
            var q = tape.Rotary(tape.Linear(x, l.Qkv[0], l.QkvBias?[0]), n, hd, cos, sin);
            var k = tape.Rotary(tape.Linear(x, l.Qkv[1], l.QkvBias?[1]), n, hd, cos, sin);
            var z = tape.Attention(q, k, tape.Linear(x, l.Qkv[2], l.QkvBias?[2]), shape, MaskOf(input, layer), MathF.Sqrt(hd));
            var a = tape.Linear(z, l.Dense, l.DenseBias);
            var mlpInput = Config.ParallelResidual ? h : (h = tape.Add(h, a));
            var m = tape.Linear(Activation(tape, tape.Linear(tape.LayerNorm(mlpInput, l.Ln2W, l.Ln2B, eps), l.Up, l.UpBias)), l.Down, l.DownBias);
            h = Config.ParallelResidual ? tape.Add(h, tape.Add(m, a)) : tape.Add(h, m);
        }
        var final = tape.LayerNorm(RowsAt(tape, h, batch, n, position), _finalW, _finalB, eps);
        return tape.Linear(final, Constant(_head.Rows(_headName, Config.Vocab, d, tokens), tokens.Length, d));
    }
}
