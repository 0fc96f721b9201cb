using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// GPT-2 (Hugging Face GPT2LMHeadModel): a pre-norm decoder with learned positions.
/// <code>
///   h = wte[ids] + wpe[0..n)
///   per block:  h = h + c_proj(attention(c_attn(ln_1(h))))      causal, scores / √head_dim
///               h = h + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(h))))
///   logits = ln_f(h) · wteᵀ                                     lm_head tied to wte
/// </code>
/// Conv1D weights are stored [in, out], so they are B of the product as they are.
/// </summary>
public sealed class Gpt2 : LanguageModel
{
    sealed record Block(LayerNormWeights Ln1, Linear Attn, Linear AttnProj, LayerNormWeights Ln2, Linear Fc, Linear FcProj);

    /// <summary>The token embedding, packed as the head's B = wteᵀ [d, vocab]; a lookup reads one column.</summary>
    readonly WeightMatrix _wteT;
    readonly WeightMatrix? _lmHead;
    readonly float[] _wpe;
    readonly Block[] _blocks;
    readonly LayerNormWeights _lnF;

    Gpt2(ModelConfig config, string folder, Weights w) : base(config, folder)
    {
        int d = config.Hidden, V = config.Vocab, inner = config.Intermediate;
        // Hub checkpoints of the base model omit the "transformer." prefix.
        w.Prefix = w.FindPrefix("wte.weight", "transformer.", "") ?? "transformer.";
        _wteT = w.LinearWeight("wte.weight", V, d);
        _wpe = w.Floats("wpe.weight", config.MaxPositions, d);
        _blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"h.{i}.";
            _blocks[i] = new Block(
                LayerNormWeights.Read(w, p + "ln_1", d, config.NormEps),
                new Linear(w.Conv1DWeight(p + "attn.c_attn.weight", d, 3 * d), w.Floats(p + "attn.c_attn.bias", 3 * d)),
                new Linear(w.Conv1DWeight(p + "attn.c_proj.weight", d, d), w.Floats(p + "attn.c_proj.bias", d)),
                LayerNormWeights.Read(w, p + "ln_2", d, config.NormEps),
                new Linear(w.Conv1DWeight(p + "mlp.c_fc.weight", d, inner), w.Floats(p + "mlp.c_fc.bias", inner)),
                new Linear(w.Conv1DWeight(p + "mlp.c_proj.weight", inner, d), w.Floats(p + "mlp.c_proj.bias", d)));
        }
        _lnF = LayerNormWeights.Read(w, "ln_f", d, config.NormEps);
        // GPT2LMHeadModel ties lm_head to wte; an explicitly stored, untied head is honoured when the config says so.
        w.Prefix = "";
        if (!config.TieWordEmbeddings && w.Has("lm_head.weight")) _lmHead = w.LinearWeight("lm_head.weight", V, d);
    }

    internal static Gpt2 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    protected override void Prepare(Sequence seq)
    {
        if (seq.N > Config.MaxPositions)
            throw new ModelException($"{seq.N} tokens is more than this GPT-2 model's {Config.MaxPositions} learned positions (n_positions)");
    }

    protected override float[] Embed(Sequence seq)
    {
        int n = seq.N, d = Config.Hidden;
        var h = Scratch((long)n * d);
        for (int i = 0; i < n; i++)
        {
            var row = h.AsSpan(i * d, d);
            _wteT.CopyColumn(seq.Input.Ids[i], row);
            AddInto(row, _wpe.AsSpan(i * d, d));
        }
        return h;
    }

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var b = _blocks[layer];
        int n = seq.N, d = Config.Hidden, hd = Config.HeadDim;
        var a = seq.Work(0, (long)n * d);
        b.Ln1.Apply(h, n, a);
        var qkv = seq.Work(1, (long)n * 3 * d);
        b.Attn.Forward(a, n, qkv);                                    // columns [q | k | v]
        Device.Attend(qkv, n, 3 * d, 0, d, 2 * d, Config.Heads, Config.Heads, hd, MathF.Sqrt(hd), seq.Mask, a, probabilities);
        seq.Hooks?.HeadOutputs(layer, a, n);
        var projected = seq.Work(2, (long)n * d);
        b.AttnProj.Forward(a, n, projected);
        AddInto(h, projected);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var b = _blocks[layer];
        var m = DenseMlp(layer, b.Ln2, b.Fc, b.FcProj, h, seq, activations);        // mlp.c_proj(gelu_new(mlp.c_fc(ln_2(h))))
        seq.Hooks?.MlpOutput(layer, m, seq.N);
        AddInto(h, m);
    }

    protected override Linear? DirectOutputProjection(int layer) => _blocks[layer].AttnProj;

    public override FinalNormSpec FinalNormParameters => new(true, _lnF.Gamma, _lnF.Beta, _lnF.Eps);

    protected override void UnembeddingRow(int id, Span<float> row) => (_lmHead ?? _wteT).CopyColumn(id, row);

    protected override void EmbeddingRow(int id, Span<float> row) => _wteT.CopyColumn(id, row);

    protected override void FinalNorm(Span<float> h, int rows) => _lnF.Apply(h, rows, h);

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits) =>
        MatMul.Multiply(h, rows, _lmHead ?? _wteT, logits);
}
