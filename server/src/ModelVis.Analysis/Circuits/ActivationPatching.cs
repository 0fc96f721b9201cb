using System.Numerics.Tensors;
using ModelVis.Models;

namespace ModelVis.Analysis.Circuits;

/// <summary>
/// Activation patching results (fixtures/README-interp.md, section D): each patched corrupted run as the recovered
/// fraction (M_patched − M_corrupted) / (M_clean − M_corrupted) of the metric M = logit[n−1, t_clean] − logit[n−1, t_corrupt].
/// </summary>
public sealed record PatchingResult(
    int TClean, int TCorrupt, double MetricClean, double MetricCorrupted,
    /// <summary>[layer][position]: the residual entering the layer at that position patched.</summary>
    double[][]? Resid,
    /// <summary>[layer][head]: the head's z (all positions) patched.</summary>
    double[][]? Heads);

/// <summary>
/// Runs a clean and a corrupted sequence of the same length once each, keeping every layer's residual stream and
/// head outputs, then answers patched runs from those caches: a patch at layer l starts the corrupted pass at
/// layer l from its cached residual (<see cref="LanguageModel.ForwardFrom"/>), so the layers below are never recomputed.
/// </summary>
public sealed class ActivationPatching
{
    /// <summary>Copies each layer's residual (entering it, and the final one before the norm) and z into a cache.</summary>
    sealed class CacheAll(int layers) : ForwardHooks
    {
        public readonly float[][] Resid = new float[layers + 1][];
        public readonly float[][] Z = new float[layers][];
        public override void Residual(int layer, float[] h, int n) => Resid[layer] = (float[])h.Clone();
        public override void HeadOutputs(int layer, float[] z, int n) => Z[layer] = (float[])z.Clone();
    }

    /// <summary>Replaces one head's columns of z in one layer with the clean run's.</summary>
    sealed class HeadPatch(int layer, int head, int headDim, float[] cleanZ) : ForwardHooks
    {
        public override void HeadOutputs(int l, float[] z, int n)
        {
            if (l != layer) return;
            int width = z.Length / n;
            for (int q = 0; q < n; q++)
                cleanZ.AsSpan(q * width + head * headDim, headDim).CopyTo(z.AsSpan(q * width + head * headDim, headDim));
        }
    }

    readonly LanguageModel _model;
    readonly ForwardInput _corrupt;
    readonly CacheAll _clean, _corrupted;
    readonly int _n;

    public int TClean { get; }
    public int TCorrupt { get; }
    public double MetricClean { get; }
    public double MetricCorrupted { get; }

    /// <param name="tClean">The clean answer (default: the clean run's top token at the last position).</param>
    /// <param name="tCorrupt">The corrupted answer (default: the corrupted run's top token there, or its best other token when the two agree).</param>
    public ActivationPatching(LanguageModel model, int[] clean, int[] corrupt, int? tClean = null, int? tCorrupt = null, CancellationToken ct = default)
    {
        var cfg = model.Config;
        if (!cfg.IsCausal) throw new AnalysisException($"{cfg.ModelType} is not a causal language model; patching compares its last position's logits");
        if (cfg.IsEncoderDecoder)
            throw new AnalysisException($"{cfg.ModelType} is an encoder-decoder: patching resumes passes from cached decoder residuals, which would need the encoder's output too; it supports decoder-only models");
        if (clean.Length != corrupt.Length)
            throw new AnalysisException($"the clean prompt has {clean.Length} tokens and the corrupted one {corrupt.Length}; patching needs the same length");
        foreach (var t in new[] { tClean, tCorrupt })
            if (t is { } id && (uint)id >= (uint)cfg.Vocab) throw new AnalysisException($"target {id} is outside the vocabulary (0..{cfg.Vocab - 1})");
        _model = model;
        _n = clean.Length;
        _corrupt = new ForwardInput(corrupt);
        int L = cfg.Layers;
        _clean = new CacheAll(L);
        _corrupted = new CacheAll(L);
        model.Forward(new ForwardInput(clean), new CaptureRequest(Logits: false), ct, hooks: _clean);
        model.Forward(_corrupt, new CaptureRequest(Logits: false), ct, hooks: _corrupted);
        var cleanLogits = LastLogits(_clean.Resid[L]);
        var corruptLogits = LastLogits(_corrupted.Resid[L]);
        TClean = tClean ?? TensorPrimitives.IndexOfMax(cleanLogits);
        if (tCorrupt is { } given) TCorrupt = given;
        else
        {
            TCorrupt = TensorPrimitives.IndexOfMax(corruptLogits);
            if (TCorrupt == TClean)
            {
                var others = (float[])corruptLogits.Clone();
                others[TClean] = float.NegativeInfinity;
                TCorrupt = TensorPrimitives.IndexOfMax(others);
            }
        }
        MetricClean = Metric(cleanLogits, TClean, TCorrupt);
        MetricCorrupted = Metric(corruptLogits, TClean, TCorrupt);
        if (MetricClean == MetricCorrupted)
            throw new AnalysisException($"the metric is {MetricClean:G4} on both prompts, so there is nothing for a patch to recover; choose targets that the two prompts tell apart");
    }

    float[] LastLogits(float[] finalResidual)
    {
        int d = _model.Config.Hidden;
        return _model.Unembed(finalResidual.AsSpan((_n - 1) * d, d), 1, applyFinalNorm: true);
    }

    static double Metric(float[] logits, int tClean, int tCorrupt) => (double)logits[tClean] - logits[tCorrupt];

    double Normalised(float[] finalResidual) =>
        (Metric(LastLogits(finalResidual), TClean, TCorrupt) - MetricCorrupted) / (MetricClean - MetricCorrupted);

    /// <summary>The recovered fraction with the residual entering <paramref name="layer"/> set to the clean run's at <paramref name="positions"/>.</summary>
    public double PatchResidual(int layer, IEnumerable<int> positions, CancellationToken ct = default)
    {
        CheckLayer(layer);
        int d = _model.Config.Hidden;
        var h = (float[])_corrupted.Resid[layer].Clone();
        foreach (var p in positions)
        {
            if ((uint)p >= (uint)_n) throw new AnalysisException($"position {p} is outside the {_n} tokens");
            _clean.Resid[layer].AsSpan(p * d, d).CopyTo(h.AsSpan(p * d, d));
        }
        return Normalised(_model.ForwardFrom(layer, h, _corrupt, null, ct));
    }

    /// <summary>The recovered fraction with head <paramref name="head"/>'s z in <paramref name="layer"/> (every position) set to the clean run's.</summary>
    public double PatchHead(int layer, int head, CancellationToken ct = default)
    {
        CheckLayer(layer);
        if ((uint)head >= (uint)_model.Config.Heads) throw new AnalysisException($"head {head} does not exist; the model has heads 0..{_model.Config.Heads - 1}");
        var h = (float[])_corrupted.Resid[layer].Clone();
        var hook = new HeadPatch(layer, head, _model.Config.HeadDim, _clean.Z[layer]);
        return Normalised(_model.ForwardFrom(layer, h, _corrupt, hook, ct));
    }

    void CheckLayer(int layer)
    {
        if ((uint)layer >= (uint)_model.Config.Layers) throw new AnalysisException($"layer {layer} does not exist; the model has layers 0..{_model.Config.Layers - 1}");
    }

    /// <summary>
    /// Every (layer, position) residual patch and every (layer, head) z patch, L·n + L·H runs, reporting progress
    /// after each and stopping at <paramref name="ct"/>.
    /// </summary>
    public PatchingResult Sweep(bool resid = true, bool heads = true, IProgress<(double Fraction, string Message)>? progress = null, CancellationToken ct = default)
    {
        int L = _model.Config.Layers, H = _model.Config.Heads;
        int total = (resid ? L * _n : 0) + (heads ? L * H : 0), done = 0;
        void Step(string what) { done++; progress?.Report(((double)done / Math.Max(1, total), what)); }
        double[][] Table(int rows, int cols, Func<int, int, double> patch, string what)
        {
            var table = new double[rows][];
            for (int l = 0; l < rows; l++)
            {
                table[l] = new double[cols];
                for (int j = 0; j < cols; j++)
                {
                    ct.ThrowIfCancellationRequested();
                    table[l][j] = patch(l, j);
                    Step($"layer {l} {what} {j}");
                }
            }
            return table;
        }
        var r = resid ? Table(L, _n, (l, p) => PatchResidual(l, [p], ct), "residual at position") : null;
        var hs = heads ? Table(L, H, (l, h) => PatchHead(l, h, ct), "head") : null;
        return new PatchingResult(TClean, TCorrupt, MetricClean, MetricCorrupted, r, hs);
    }
}
