using System.Numerics;
using ModelVis.Tensors;

namespace ModelVis.Autodiff.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter): Adam moments with bias correction, and weight decay applied to the weight
/// itself (decoupled), p ← p − lr·(m̂/(√v̂ + ε) + λ·p). Decay applies only to the parameters
/// <see cref="DecayFilter"/> accepts; by convention that is matrices of linear layers, never norm gains,
/// biases or embeddings. Moments are kept in double so float training is not limited by their rounding.
/// </summary>
public sealed class AdamW<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly IReadOnlyList<Var<T>> _params;
    readonly double[][] _m, _v;
    readonly bool[] _decay;
    long _step;

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Epsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>Which parameters decay: 2-D weights except embeddings (names as HF state dicts).</summary>
    public static bool DefaultDecayFilter(Var<T> p) =>
        p.Shape.Length >= 2 && !(p.Name ?? "").Contains("embed", StringComparison.Ordinal) && !(p.Name ?? "").Contains("wte", StringComparison.Ordinal)
        && !(p.Name ?? "").Contains("wpe", StringComparison.Ordinal);

    public AdamW(IReadOnlyList<Var<T>> parameters, Func<Var<T>, bool>? decayFilter = null)
    {
        _params = parameters;
        _m = parameters.Select(p => new double[p.Length]).ToArray();
        _v = parameters.Select(p => new double[p.Length]).ToArray();
        var filter = decayFilter ?? DefaultDecayFilter;
        _decay = parameters.Select(filter).ToArray();
    }

    public long StepCount => _step;

    public bool Decays(int parameterIndex) => _decay[parameterIndex];

    /// <summary>One update with learning rate <paramref name="lr"/> from the gradients now held by the parameters.</summary>
    public void Step(double lr)
    {
        _step++;
        double c1 = 1 - Math.Pow(Beta1, _step), c2 = 1 - Math.Pow(Beta2, _step);
        Parallelism.ForEach(_params.Count, pi =>
        {
            var p = _params[pi];
            if (!p.HasGrad) return;
            var g = p.Grad; var d = p.Data; var m = _m[pi]; var v = _v[pi];
            double decay = _decay[pi] ? WeightDecay : 0;
            for (int i = 0; i < d.Length; i++)
            {
                double gi = double.CreateTruncating(g[i]);
                m[i] = Beta1 * m[i] + (1 - Beta1) * gi;
                v[i] = Beta2 * v[i] + (1 - Beta2) * gi * gi;
                double w = double.CreateTruncating(d[i]);
                w -= lr * (m[i] / c1 / (Math.Sqrt(v[i] / c2) + Epsilon) + decay * w);
                d[i] = T.CreateTruncating(w);
            }
        });
    }

    public void ZeroGrad()
    {
        foreach (var p in _params) p.ZeroGrad();
    }
}

public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients together so their global L2 norm is at most <paramref name="maxNorm"/>; returns
    /// the norm before clipping. Summed in parameter order in double: deterministic.
    /// </summary>
    public static double ClipGlobalNorm<T>(IReadOnlyList<Var<T>> parameters, double maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double ss = 0;
        foreach (var p in parameters)
        {
            if (!p.HasGrad) continue;
            foreach (var g in p.Grad) { double x = double.CreateTruncating(g); ss += x * x; }
        }
        double norm = Math.Sqrt(ss);
        if (maxNorm > 0 && norm > maxNorm)
        {
            T s = T.CreateTruncating(maxNorm / (norm + 1e-12));
            foreach (var p in parameters)
                if (p.HasGrad) { var g = p.Grad; for (int i = 0; i < g.Length; i++) g[i] *= s; }
        }
        return norm;
    }
}

/// <summary>Linear warm-up from 0 to the peak, then cosine decay to <c>MinFraction</c>·peak at the last step.</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, double MinFraction = 0.1)
{
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        if (TotalSteps <= WarmupSteps) return Peak;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps - 1));
        double min = Peak * MinFraction;
        return min + (Peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
