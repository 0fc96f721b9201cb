using System.Numerics;

namespace ModelVis.Autodiff.Ops;

/// <summary>RMS norm (Llama; per head for q/k norms) and layer norm (GPT-2, BERT), over the last dimension.</summary>
public static class NormOps
{
    /// <summary>y = w ⊙ x / √(mean(x²) + ε), per row.</summary>
    public static Var<T> RmsNorm<T>(this Tape<T> tape, Var<T> x, Var<T> w, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (w.Length != x.Cols) throw new ArgumentException($"rms norm: weight {w} for rows of {x.Cols}");
        return RmsNormOver(tape, x, w, eps, "rms_norm");
    }

    /// <summary>
    /// RMSNorm of each head on its own: every <paramref name="w"/>.Length channels of a row [heads·head_dim] are normalised
    /// over themselves, with the one gain w [head_dim] the heads share (Qwen3's and Gemma 3's q and k norms).
    /// </summary>
    public static Var<T> HeadRmsNorm<T>(this Tape<T> tape, Var<T> x, Var<T> w, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (w.Length == 0 || x.Cols % w.Length != 0) throw new ArgumentException($"head rms norm: weight {w} does not divide rows of {x.Cols} into heads");
        return RmsNormOver(tape, x, w, eps, "head_rms_norm");
    }

    /// <summary>RMSNorm over consecutive groups of w.Length values of x (a row, or a head within a row: the data is row-major).</summary>
    static Var<T> RmsNormOver<T>(Tape<T> tape, Var<T> x, Var<T> w, double eps, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = w.Length, n = x.Length / d;
        var y = tape.Output(name, x.Shape, x, w);
        var rstd = new T[n];
        T e = T.CreateTruncating(eps), dT = T.CreateTruncating(d);
        for (int i = 0; i < n; i++)
        {
            int o = i * d;
            T ss = T.Zero;
            for (int j = 0; j < d; j++) ss += x.Data[o + j] * x.Data[o + j];
            T r = T.One / T.Sqrt(ss / dT + e);
            rstd[i] = r;
            for (int j = 0; j < d; j++) y.Data[o + j] = w.Data[j] * (x.Data[o + j] * r);
        }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                for (int i = 0; i < n; i++)
                {
                    int o = i * d;
                    T r = rstd[i];
                    // With x̂ = x·r and g = dy ⊙ w:  dx = r·(g − x̂·mean(g ⊙ x̂)).
                    T dot = T.Zero;
                    for (int j = 0; j < d; j++) dot += y.Grad[o + j] * w.Data[j] * x.Data[o + j] * r;
                    dot /= dT;
                    if (w.RequiresGrad)
                        for (int j = 0; j < d; j++) w.Grad[j] += y.Grad[o + j] * x.Data[o + j] * r;
                    if (x.RequiresGrad)
                        for (int j = 0; j < d; j++)
                            x.Grad[o + j] += r * (y.Grad[o + j] * w.Data[j] - x.Data[o + j] * r * dot);
                }
            });
        return y;
    }

    /// <summary>y = w ⊙ (x − mean)/√(var + ε) + b, per row (biased variance, as torch).</summary>
    public static Var<T> LayerNorm<T>(this Tape<T> tape, Var<T> x, Var<T> w, Var<T> b, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Rows, d = x.Cols;
        if (w.Length != d || b.Length != d) throw new ArgumentException($"layer norm: weight {w}, bias {b} for rows of {d}");
        var y = tape.Output("layer_norm", x.Shape, x, w, b);
        var xhat = new T[x.Length];
        var rstd = new T[n];
        T e = T.CreateTruncating(eps), dT = T.CreateTruncating(d);
        for (int i = 0; i < n; i++)
        {
            int o = i * d;
            T mean = T.Zero;
            for (int j = 0; j < d; j++) mean += x.Data[o + j];
            mean /= dT;
            T v = T.Zero;
            for (int j = 0; j < d; j++) { T c = x.Data[o + j] - mean; v += c * c; }
            T r = T.One / T.Sqrt(v / dT + e);
            rstd[i] = r;
            for (int j = 0; j < d; j++)
            {
                T h = (x.Data[o + j] - mean) * r;
                xhat[o + j] = h;
                y.Data[o + j] = w.Data[j] * h + b.Data[j];
            }
        }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                for (int i = 0; i < n; i++)
                {
                    int o = i * d;
                    // With g = dy ⊙ w:  dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)).
                    T mg = T.Zero, mgx = T.Zero;
                    for (int j = 0; j < d; j++)
                    {
                        T g = y.Grad[o + j] * w.Data[j];
                        mg += g;
                        mgx += g * xhat[o + j];
                    }
                    mg /= dT; mgx /= dT;
                    for (int j = 0; j < d; j++)
                    {
                        T dy = y.Grad[o + j];
                        if (w.RequiresGrad) w.Grad[j] += dy * xhat[o + j];
                        if (b.RequiresGrad) b.Grad[j] += dy;
                        if (x.RequiresGrad) x.Grad[o + j] += rstd[i] * (dy * w.Data[j] - mg - xhat[o + j] * mgx);
                    }
                }
            });
        return y;
    }
}
