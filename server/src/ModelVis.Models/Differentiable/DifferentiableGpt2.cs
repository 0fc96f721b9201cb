using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Gpt2"/> on the tape, from the token rows e:
/// <code>
///   h = e + wpe[0..n)
///   per block:  h = h + c_proj(attention(q, k, v of ln_1(h)))       causal, scores / √head_dim
///               h = h + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(h))))
///   logits[position, t] = ln_f(h[position]) · W_U[t]                  W_U = wte (tied) or lm_head
/// </code>
/// Conv1D weights are stored [in, out]; they are transposed to nn.Linear's [out, in] once, at load, and c_attn is split into q, k, v.
/// </summary>
sealed class DifferentiableGpt2 : DifferentiableModel
{
    sealed record Block(Var<float> Ln1W, Var<float> Ln1B, Var<float>[] Qkv, Var<float>[] QkvBias, Var<float> Proj, Var<float> ProjBias,
        Var<float> Ln2W, Var<float> Ln2B, Var<float> Fc, Var<float> FcBias, Var<float> FcProj, Var<float> FcProjBias);

    readonly Weights _tokens, _head;
    readonly string _headName;
    readonly float[] _wpe;
    readonly Block[] _blocks;
    readonly Var<float> _lnFW, _lnFB;

    public DifferentiableGpt2(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint)
    {
        int d = config.Hidden, inner = config.Intermediate;
        w.Prefix = w.FindPrefix("wte.weight", "transformer.", "") ?? "transformer.";
        (_tokens, _head, _headName) = Unembedding(config, checkpoint, w.Prefix, "wte.weight", "lm_head.weight");
        _wpe = w.Floats("wpe.weight", config.MaxPositions, d);
        _blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"h.{i}.";
            var attn = Conv1D(w, p + "attn.c_attn.weight", d, 3 * d);
            var attnBias = w.Floats(p + "attn.c_attn.bias", 3 * d);
            _blocks[i] = new Block(
                Vector(w, p + "ln_1.weight", d), Vector(w, p + "ln_1.bias", d),
                [.. Enumerable.Range(0, 3).Select(j => Constant(attn[(j * d * d)..((j + 1) * d * d)], d, d))],
                [.. Enumerable.Range(0, 3).Select(j => Constant(attnBias[(j * d)..((j + 1) * d)], d))],
                Constant(Conv1D(w, p + "attn.c_proj.weight", d, d), d, d), Vector(w, p + "attn.c_proj.bias", d),
                Vector(w, p + "ln_2.weight", d), Vector(w, p + "ln_2.bias", d),
                Constant(Conv1D(w, p + "mlp.c_fc.weight", d, inner), inner, d), Vector(w, p + "mlp.c_fc.bias", inner),
                Constant(Conv1D(w, p + "mlp.c_proj.weight", inner, d), d, inner), Vector(w, p + "mlp.c_proj.bias", d));
        }
        _lnFW = Vector(w, "ln_f.weight", d);
        _lnFB = Vector(w, "ln_f.bias", d);
    }

    /// <summary>A Conv1D weight stored [in, out], transposed to [out, in].</summary>
    static float[] Conv1D(Weights w, string name, int inFeatures, int outFeatures)
    {
        var stored = w.Floats(name, inFeatures, outFeatures);
        var t = new float[stored.Length];
        Gemm.Transpose(stored, 0, inFeatures, outFeatures, t, 0);
        return t;
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _tokens.Rows("wte.weight", Config.Vocab, Config.Hidden, ids);

    public override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        int n = input.Ids.Length, d = Config.Hidden, H = Config.Heads, hd = Config.HeadDim;
        if (n > Config.MaxPositions) throw new ModelException($"{n} tokens is more than this GPT-2 model's {Config.MaxPositions} learned positions (n_positions)");
        double eps = Config.NormEps;
        var shape = new AttentionShape(batch, n, H, H, hd);
        var h = tape.AddRows(e, Constant(_wpe[..(n * d)], n, d));
        for (int layer = 0; layer < _blocks.Length; layer++)
        {
            var b = _blocks[layer];
            var a = tape.LayerNorm(h, b.Ln1W, b.Ln1B, eps);
            var z = tape.Attention(tape.Linear(a, b.Qkv[0], b.QkvBias[0]), tape.Linear(a, b.Qkv[1], b.QkvBias[1]), tape.Linear(a, b.Qkv[2], b.QkvBias[2]),
                shape, MaskOf(input, layer), Math.Sqrt(hd));
            h = tape.Add(h, tape.Linear(z, b.Proj, b.ProjBias));
            var m = tape.LayerNorm(h, b.Ln2W, b.Ln2B, eps);
            h = tape.Add(h, tape.Linear(Activation(tape, tape.Linear(m, b.Fc, b.FcBias)), b.FcProj, b.FcProjBias));
        }
        var x = tape.LayerNorm(RowsAt(tape, h, batch, n, position), _lnFW, _lnFB, eps);
        return tape.Linear(x, Constant(_head.Rows(_headName, Config.Vocab, d, tokens), tokens.Length, d));
    }
}
