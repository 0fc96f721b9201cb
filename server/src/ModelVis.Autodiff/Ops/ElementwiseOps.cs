using System.Numerics;
using ModelVis.Tensors;

namespace ModelVis.Autodiff.Ops;

/// <summary>
/// Elementwise sums, products and scaling, SiLU, both GELUs and soft-capping (exact erf, and GPT-2's tanh form). In float the forward
/// values are the inference kernels' (<see cref="Activations"/>); double (the gradient checks) uses the formulas.
/// </summary>
public static class ElementwiseOps
{
    public static Var<T> Add<T>(this Tape<T> tape, Var<T> a, Var<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SameShape(a, b, "add");
        var y = tape.Output("add", a.Shape, a, b);
        for (int i = 0; i < y.Length; i++) y.Data[i] = a.Data[i] + b.Data[i];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                if (a.RequiresGrad) { var g = a.Grad; for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i]; }
                if (b.RequiresGrad) { var g = b.Grad; for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i]; }
            });
        return y;
    }

    public static Var<T> Mul<T>(this Tape<T> tape, Var<T> a, Var<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SameShape(a, b, "mul");
        var y = tape.Output("mul", a.Shape, a, b);
        for (int i = 0; i < y.Length; i++) y.Data[i] = a.Data[i] * b.Data[i];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                if (a.RequiresGrad) { var g = a.Grad; for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i] * b.Data[i]; }
                if (b.RequiresGrad) { var g = b.Grad; for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i] * a.Data[i]; }
            });
        return y;
    }

    /// <summary>y = c·x for a constant c (Gemma's embedding scale √d).</summary>
    public static Var<T> Scale<T>(this Tape<T> tape, Var<T> x, T c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = tape.Output("scale", x.Shape, x);
        for (int i = 0; i < y.Length; i++) y.Data[i] = c * x.Data[i];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += c * y.Grad[i];
            });
        return y;
    }

    /// <summary>silu(x) = x·σ(x); silu'(x) = σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static Var<T> Silu<T>(this Tape<T> tape, Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = tape.Output("silu", x.Shape, x);
        if (y.Data is float[] yf) { Array.Copy(x.Data, yf, yf.Length); Activations.Silu(yf); }
        else for (int i = 0; i < y.Length; i++) y.Data[i] = x.Data[i] / (T.One + T.Exp(-x.Data[i]));
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++)
                {
                    T s = T.One / (T.One + T.Exp(-x.Data[i]));
                    g[i] += y.Grad[i] * s * (T.One + x.Data[i] * (T.One - s));
                }
            });
        return y;
    }

    /// <summary>SwiGLU gate: silu(gate) ⊙ up in one op (saves the intermediate of a separate Silu then Mul).</summary>
    public static Var<T> SiluGate<T>(this Tape<T> tape, Var<T> gate, Var<T> up) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SameShape(gate, up, "silu-gate");
        var y = tape.Output("silu_gate", gate.Shape, gate, up);
        if (y.Data is float[] yf) Activations.SiluGate((float[])(object)gate.Data, (float[])(object)up.Data, yf);
        else for (int i = 0; i < y.Length; i++) y.Data[i] = gate.Data[i] / (T.One + T.Exp(-gate.Data[i])) * up.Data[i];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                for (int i = 0; i < y.Length; i++)
                {
                    T x = gate.Data[i], s = T.One / (T.One + T.Exp(-x)), dy = y.Grad[i];
                    if (up.RequiresGrad) up.Grad[i] += dy * x * s;
                    if (gate.RequiresGrad) gate.Grad[i] += dy * up.Data[i] * s * (T.One + x * (T.One - s));
                }
            });
        return y;
    }

    /// <summary>Exact GELU (BERT, HF "gelu"): x·Φ(x), Φ the normal CDF; derivative Φ(x) + x·φ(x).</summary>
    public static Var<T> Gelu<T>(this Tape<T> tape, Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = tape.Output("gelu", x.Shape, x);
        if (y.Data is float[] yf) { Array.Copy(x.Data, yf, yf.Length); Activations.GeluExact(yf); }
        else
            for (int i = 0; i < y.Length; i++)
            {
                double v = double.CreateTruncating(x.Data[i]);
                y.Data[i] = T.CreateTruncating(v * NormalCdf(v));
            }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++)
                {
                    double v = double.CreateTruncating(x.Data[i]);
                    double d = NormalCdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
                    g[i] += y.Grad[i] * T.CreateTruncating(d);
                }
            });
        return y;
    }

    /// <summary>GPT-2's GELU (HF "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    public static Var<T> GeluTanh<T>(this Tape<T> tape, Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c = T.CreateTruncating(Math.Sqrt(2 / Math.PI)), a = T.CreateTruncating(0.044715), half = T.CreateTruncating(0.5);
        T three = T.CreateTruncating(3.0);
        var y = tape.Output("gelu_tanh", x.Shape, x);
        if (y.Data is float[] yf) { Array.Copy(x.Data, yf, yf.Length); Activations.GeluTanh(yf); }
        else
            for (int i = 0; i < y.Length; i++)
            {
                T v = x.Data[i];
                y.Data[i] = half * v * (T.One + T.Tanh(c * (v + a * v * v * v)));
            }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++)
                {
                    T v = x.Data[i], th = T.Tanh(c * (v + a * v * v * v));
                    T d = half * (T.One + th) + half * v * (T.One - th * th) * c * (T.One + three * a * v * v);
                    g[i] += y.Grad[i] * d;
                }
            });
        return y;
    }

    /// <summary>
    /// x [batch·m, d] + rows [m, d], the block repeated over the batch: position embeddings added to token rows,
    /// or a bias (m = 1) added to every row.
    /// </summary>
    public static Var<T> AddRows<T>(this Tape<T> tape, Var<T> x, Var<T> rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int block = rows.Length;
        if (rows.Cols != x.Cols || x.Length % block != 0) throw new ArgumentException($"add rows: {rows} does not tile {x}");
        var y = tape.Output("add_rows", x.Shape, x, rows);
        for (int i = 0; i < y.Length; i++) y.Data[i] = x.Data[i] + rows.Data[i % block];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                if (x.RequiresGrad) { var g = x.Grad; for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i]; }
                if (rows.RequiresGrad) { var g = rows.Grad; for (int i = 0; i < y.Length; i++) g[i % block] += y.Grad[i]; }
            });
        return y;
    }

    /// <summary>Gemma's soft-capping, cap·tanh(x/cap); derivative 1 − tanh²(x/cap).</summary>
    public static Var<T> SoftCap<T>(this Tape<T> tape, Var<T> x, double cap) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c = T.CreateTruncating(cap);
        var y = tape.Output("soft_cap", x.Shape, x);
        if (y.Data is float[] yf) { Array.Copy(x.Data, yf, yf.Length); Activations.SoftCap(yf, (float)cap); }
        else for (int i = 0; i < y.Length; i++) y.Data[i] = c * T.Tanh(x.Data[i] / c);
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++)
                {
                    T th = T.Tanh(x.Data[i] / c);
                    g[i] += y.Grad[i] * (T.One - th * th);
                }
            });
        return y;
    }

    /// <summary>Φ(x) = ½·erfc(−x/√2).</summary>
    public static double NormalCdf(double x) => 0.5 * Activations.Erfc(-x / Math.Sqrt(2));

    internal static void SameShape<T>(Var<T> a, Var<T> b, string op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length != b.Length) throw new ArgumentException($"{op}: shapes {a} and {b} differ");
    }
}

public static class ReductionOps
{
    /// <summary>Σᵢ xᵢ·wᵢ for constant weights: a scalar whose gradient is w (probes, attribution targets, gradient checks).</summary>
    public static Var<T> WeightedSum<T>(this Tape<T> tape, Var<T> x, T[] weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (weights.Length != x.Length) throw new ArgumentException($"weighted sum: {weights.Length} weights for {x}");
        var y = tape.Output("weighted_sum", [1], x);
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++) s += x.Data[i] * weights[i];
        y.Data[0] = s;
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += y.Grad[0] * weights[i];
            });
        return y;
    }
}
