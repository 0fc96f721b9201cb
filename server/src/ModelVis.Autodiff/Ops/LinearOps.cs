using System.Numerics;

namespace ModelVis.Autodiff.Ops;

/// <summary>Linear layers as Hugging Face stores them: weight [out, in], y = x·Wᵀ (+ b).</summary>
public static class LinearOps
{
    /// <summary>y[n, out] = x[n, in] · W[out, in]ᵀ (+ bias[out]).</summary>
    public static Var<T> Linear<T>(this Tape<T> tape, Var<T> x, Var<T> w, Var<T>? bias = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Rows, k = x.Cols, m = w.Shape[0];
        if (w.Shape.Length != 2 || w.Shape[1] != k) throw new ArgumentException($"linear: {x} · {w}ᵀ does not fit");
        var y = bias is null ? tape.Output("linear", [n, m], x, w) : tape.Output("linear", [n, m], x, w, bias);
        Gemm.NT(x.Data, 0, w.Data, 0, y.Data, 0, n, k, m, accumulate: false);
        if (bias is not null)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < m; j++) y.Data[i * m + j] += bias.Data[j];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var dy = y.Grad;
                if (x.RequiresGrad) Gemm.NN(dy, 0, w.Data, 0, x.Grad, 0, n, m, k, accumulate: true);   // dx = dy·W
                if (w.RequiresGrad) Gemm.TN(dy, 0, x.Data, 0, w.Grad, 0, n, m, k, accumulate: true);  // dW = dyᵀ·x
                if (bias is not null && bias.RequiresGrad)
                {
                    var db = bias.Grad;
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < m; j++) db[j] += dy[i * m + j];
                }
            });
        return y;
    }

    /// <summary>y = a · b for a[n, k], b[k, m] (plain matrix product; no transposes).</summary>
    public static Var<T> MatMul<T>(this Tape<T> tape, Var<T> a, Var<T> b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows, k = a.Cols, m = b.Cols;
        if (b.Rows != k) throw new ArgumentException($"matmul: {a} · {b} does not fit");
        var y = tape.Output("matmul", [n, m], a, b);
        Gemm.NN(a.Data, 0, b.Data, 0, y.Data, 0, n, k, m, accumulate: false);
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                if (a.RequiresGrad) Gemm.NT(y.Grad, 0, b.Data, 0, a.Grad, 0, n, m, k, accumulate: true); // da = dy·bᵀ
                if (b.RequiresGrad) Gemm.TN(a.Data, 0, y.Grad, 0, b.Grad, 0, n, k, m, accumulate: true); // db = aᵀ·dy
            });
        return y;
    }
}
