using ModelVis.Models;

namespace ModelVis.Analysis.Circuits;

/// <summary>
/// Direct logit attribution at one position: the final residual x (before the final norm) is the sum of the
/// embedding, every head's write z_h·W_O^h, every MLP's output and the attention output biases; each term's share
/// of the logit (difference) is read through the final norm with its scale s frozen from the full x
/// (fixtures/README-interp.md, section C). The parts add up to <see cref="Logit"/>.
/// </summary>
public sealed record LogitAttribution(
    int Position, int Target, int? Contrast,
    double[][] Heads, double[] Mlp, double Embed,
    /// <summary>Σ over layers of the attention output-projection bias (0 without biases).</summary>
    double AttentionBias,
    /// <summary>The final LayerNorm's bias · u (not divided by s; 0 for RMSNorm).</summary>
    double FinalNormBias,
    double Scale,
    /// <summary>The logit (difference) from the forward pass.</summary>
    double Logit)
{
    /// <summary>What is neither a head, an MLP nor the embedding: the biases.</summary>
    public double Rest => AttentionBias + FinalNormBias;

    /// <summary>The sum of every part; equals <see cref="Logit"/> up to float rounding.</summary>
    public double Total => Heads.Sum(r => r.Sum()) + Mlp.Sum() + Embed + Rest;
}

public static class DirectLogitAttribution
{
    /// <summary>Keeps the residual rows, z rows and MLP output rows of one position as the pass goes.</summary>
    sealed class PositionCapture(int position, int layers, int d) : ForwardHooks
    {
        public readonly float[] Embed = new float[d], Final = new float[d];
        public readonly float[][] Z = new float[layers][], Mlp = new float[layers][];

        public override void Residual(int layer, float[] h, int n)
        {
            if (layer == 0) h.AsSpan(position * d, d).CopyTo(Embed);
            if (layer == layers) h.AsSpan(position * d, d).CopyTo(Final);
        }

        public override void HeadOutputs(int layer, float[] z, int n)
        {
            int width = z.Length / n;
            Z[layer] = z.AsSpan(position * width, width).ToArray();
        }

        public override void MlpOutput(int layer, float[] output, int n) => Mlp[layer] = output.AsSpan(position * d, d).ToArray();
    }

    /// <param name="position">The position to explain (default: the last).</param>
    /// <param name="target">The token whose logit to explain (default: the model's prediction there).</param>
    /// <param name="contrast">When given, explain logit[target] − logit[contrast].</param>
    public static LogitAttribution Compute(LanguageModel model, ForwardInput input, int? position = null, int? target = null, int? contrast = null,
        CancellationToken ct = default)
    {
        var cfg = model.Config;
        int n = input.Length, d = cfg.Hidden, L = cfg.Layers, H = cfg.Heads;
        if (!cfg.IsCausal) throw new AnalysisException($"{cfg.ModelType} is not a causal language model; direct logit attribution reads a decoder's residual stream");
        int p = position ?? n - 1;
        if ((uint)p >= (uint)n) throw new AnalysisException($"position {p} is outside the {n} tokens (0..{n - 1})");
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

        var heads = new double[L][];
        var mlp = new double[L];
        var biasSum = new float[d];
        for (int l = 0; l < L; l++)
        {
            ct.ThrowIfCancellationRequested();
            var writes = model.HeadWrites(l, capture.Z[l]);
            heads[l] = new double[H];
            for (int h = 0; h < H; h++) heads[l][h] = Term(writes.AsSpan(h * d, d));
            mlp[l] = Term(capture.Mlp[l]);
            var bias = model.AttentionOutputBias(l);
            for (int i = 0; i < d; i++) biasSum[i] += bias[i];
        }
        return new LogitAttribution(p, t, contrast, heads, mlp, Term(capture.Embed), Term(biasSum), finalBias, s, logit);
    }
}
