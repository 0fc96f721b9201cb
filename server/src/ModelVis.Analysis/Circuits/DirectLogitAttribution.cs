using ModelVis.Models;

namespace ModelVis.Analysis.Circuits;

/// <summary>
/// Direct logit attribution at one position: the final residual x (before the final norm) is the sum of the
/// embedding, every head's write, every MLP's output and the attention output biases; each term's share of the logit
/// (difference) is read through the final norm with its scale s frozen from the full x (fixtures/README-interp.md,
/// section C). Where a post-norm follows the attention output (Gemma 2/3, OLMo 2) its scale is frozen too, at this
/// run's value per layer, so the heads' writes stay terms (<see cref="PostNormsFrozen"/>); T5's decoder adds its
/// cross-attention heads (<see cref="CrossHeads"/>). The parts add up to <see cref="Logit"/> up to float rounding —
/// except under Gemma 2's final_logit_softcapping, where they add up to the logit before the cap and the capped logit
/// is cap·tanh(that / cap): <see cref="Residual"/> is what the parts leave unexplained.
/// </summary>
public sealed record LogitAttribution(
    int Position, int Target, int? Contrast,
    double[][] Heads,
    /// <summary>T5's decoder: each cross-attention head's term [layer][head]; null for decoder-only models.</summary>
    double[][]? CrossHeads,
    double[] Mlp, double Embed,
    /// <summary>Σ over layers of the attention output-projection bias (0 without biases).</summary>
    double AttentionBias,
    /// <summary>The final LayerNorm's bias · u (not divided by s; 0 for RMSNorm).</summary>
    double FinalNormBias,
    double Scale,
    /// <summary>The logit (difference) from the forward pass, as the model outputs it (after any soft cap).</summary>
    double Logit,
    /// <summary>The post-attention norms' scales were frozen at this run's values (one per layer).</summary>
    bool PostNormsFrozen,
    /// <summary>final_logit_softcapping (0: none): the parts explain the logit before the cap.</summary>
    double Softcap)
{
    /// <summary>What is neither a head, an MLP nor the embedding: the biases.</summary>
    public double Rest => AttentionBias + FinalNormBias;

    /// <summary>The sum of every part.</summary>
    public double Total => Heads.Sum(r => r.Sum()) + (CrossHeads?.Sum(r => r.Sum()) ?? 0) + Mlp.Sum() + Embed + Rest;

    /// <summary>Logit − Σ parts: float rounding, plus the soft cap's bend where there is one.</summary>
    public double Residual => Logit - Total;

    /// <summary>What was held fixed to make the parts additive, in words (the CLI and the panel show them).</summary>
    public string[] Approximations
    {
        get
        {
            var notes = new List<string> { "final norm scale frozen at this run's value" };
            if (PostNormsFrozen)
                notes.Add("post-attention norm scales frozen at this run's values, one per layer: each head's part assumes the others fix the norm's scale");
            if (Softcap > 0)
                notes.Add($"final_logit_softcapping {Softcap:G}: the parts add up to the logit before the cap; the model outputs cap·tanh(logit/cap)");
            return notes.ToArray();
        }
    }
}

public static class DirectLogitAttribution
{
    /// <summary>Keeps the residual rows, z rows (self- and cross-attention) and MLP output rows of one position as the pass goes.</summary>
    sealed class PositionCapture(int position, int layers, int d) : ForwardHooks
    {
        public readonly float[] Embed = new float[d], Final = new float[d];
        public readonly float[][] Z = new float[layers][], CrossZ = new float[layers][], Mlp = new float[layers][];

        public override void Residual(int layer, float[] h, int n)
        {
            if (layer == 0) h.AsSpan(position * d, d).CopyTo(Embed);
            if (layer == layers) h.AsSpan(position * d, d).CopyTo(Final);
        }

        public override void HeadOutputs(int layer, float[] z, int n) => Z[layer] = Row(z, n);

        public override void CrossHeadOutputs(int layer, float[] z, int n) => CrossZ[layer] = Row(z, n);

        public override void MlpOutput(int layer, float[] output, int n) => Mlp[layer] = output.AsSpan(position * d, d).ToArray();

        float[] Row(float[] z, int n)
        {
            int width = z.Length / n;
            return z.AsSpan(position * width, width).ToArray();
        }
    }

    /// <param name="input">The tokens; an encoder-decoder (T5) explains its decoder, so <c>input.DecoderIds</c> are required
    /// and <paramref name="position"/> is a decoder position.</param>
    /// <param name="position">The position to explain (default: the last).</param>
    /// <param name="target">The token whose logit to explain (default: the model's prediction there).</param>
    /// <param name="contrast">When given, explain logit[target] − logit[contrast].</param>
    public static LogitAttribution Compute(LanguageModel model, ForwardInput input, int? position = null, int? target = null, int? contrast = null,
        CancellationToken ct = default)
    {
        var cfg = model.Config;
        int d = cfg.Hidden, L = cfg.Layers, H = cfg.Heads;
        if (!cfg.IsCausal) throw new AnalysisException($"{cfg.ModelType} is not a causal language model; direct logit attribution reads a decoder's residual stream");
        int n = cfg.IsEncoderDecoder
            ? input.DecoderIds?.Length ?? throw new AnalysisException($"{cfg.ModelType} is an encoder-decoder: direct logit attribution explains its decoder, so give the decoder's ids too")
            : input.Length;
        int p = position ?? n - 1;
        if ((uint)p >= (uint)n) throw new AnalysisException($"position {p} is outside the {n} {(cfg.IsEncoderDecoder ? "decoder " : "")}tokens (0..{n - 1})");
        var norm = model.FinalNormParameters
            ?? throw new AnalysisException($"{cfg.ModelType}: the final norm is neither a LayerNorm nor an RMSNorm, so it cannot be frozen");

        var capture = new PositionCapture(p, L, d);
        model.Forward(input, new CaptureRequest(Logits: false), ct, hooks: capture);
        var logits = model.Unembed(capture.Final, 1, applyFinalNorm: true);
        int t = target ?? System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
        if ((uint)t >= (uint)cfg.Vocab) throw new AnalysisException($"target {t} is outside the vocabulary (0..{cfg.Vocab - 1})");
        if (contrast is { } c0 && (uint)c0 >= (uint)cfg.Vocab) throw new AnalysisException($"contrast {c0} is outside the vocabulary (0..{cfg.Vocab - 1})");
        double logit = logits[t] - (contrast is { } c1 ? logits[c1] : 0);

        // w = g ⊙ (W_U[t] − W_U[t2]); a component c contributes (c − mean c)·w / s (LayerNorm) or c·w / s (RMSNorm).
        var u = model.Unembedding(t);
        if (contrast is { } c2)
        {
            var v = model.Unembedding(c2);
            for (int i = 0; i < d; i++) u[i] -= v[i];
        }
        double finalBias = 0;
        if (norm.Bias is { } b) for (int i = 0; i < d; i++) finalBias += (double)b[i] * u[i];
        var w = new double[d];
        for (int i = 0; i < d; i++) w[i] = (double)norm.Gain[i] * u[i];
        double s = norm.Scale(capture.Final);
        double Term(ReadOnlySpan<float> c)
        {
            double mean = 0;
            if (norm.Centred) { foreach (var x in c) mean += x; mean /= c.Length; }
            double dot = 0;
            for (int i = 0; i < c.Length; i++) dot += (c[i] - mean) * w[i];
            return dot / s;
        }

        var biasSum = new float[d];
        bool postNormsFrozen = false;
        double[] HeadTerms(AttentionWrites writes)
        {
            postNormsFrozen |= writes.PostNormScale is not null;
            for (int i = 0; i < d; i++) biasSum[i] += writes.Bias[i];
            var terms = new double[H];
            for (int h = 0; h < H; h++) terms[h] = Term(writes.Heads.AsSpan(h * d, d));
            return terms;
        }

        var heads = new double[L][];
        var cross = cfg.IsEncoderDecoder ? new double[L][] : null;
        var mlp = new double[L];
        for (int l = 0; l < L; l++)
        {
            ct.ThrowIfCancellationRequested();
            heads[l] = HeadTerms(model.HeadWrites(l, capture.Z[l]));
            if (cross is not null) cross[l] = HeadTerms(model.CrossHeadWrites(l, capture.CrossZ[l]));
            mlp[l] = Term(capture.Mlp[l]);
        }
        return new LogitAttribution(p, t, contrast, heads, cross, mlp, Term(capture.Embed), Term(biasSum), finalBias, s, logit,
            postNormsFrozen, cfg.FinalLogitSoftcap);
    }
}
