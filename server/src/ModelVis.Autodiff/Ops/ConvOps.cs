using System.Numerics;
using ModelVis.Tensors;

namespace ModelVis.Autodiff.Ops;

/// <summary>
/// The CNN ops: convolution (grouped, strided, padded, dilated), max and average pooling, global average pooling,
/// inference-mode batch norm and ReLU, over NCHW values [N, C, H, W]. Convolution runs as im2col and a product on
/// <see cref="Gemm"/>, so its backward is two more products and a col2im.
/// </summary>
public static class ConvOps
{
    /// <summary>y[n, o] = Σ_c,kh,kw w[o, c, kh, kw] · x[n, g·C/G + c, …] (+ b[o]); w [O, C/G, KH, KW].</summary>
    public static Var<T> Conv2D<T>(this Tape<T> tape, Var<T> x, Var<T> w, Var<T>? bias, Window2D win, int groups = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (N, C, H, W) = Nchw(x, "conv2d");
        int O = w.Shape[0], Cg = w.Shape[1], KH = w.Shape[2], KW = w.Shape[3];
        if (w.Shape.Length != 4 || KH != win.KernelH || KW != win.KernelW || C != Cg * groups || O % groups != 0 || bias is not null && bias.Length != O)
            throw new ArgumentException($"conv2d: input {x}, weight {w}, {groups} group(s) do not fit");
        int OH = win.OutH(H), OW = win.OutW(W), Og = O / groups, K = Cg * KH * KW, P = OH * OW;
        if (OH <= 0 || OW <= 0) throw new ArgumentException($"conv2d: a {KH}×{KW} window does not fit {H}×{W}");
        var y = bias is null ? tape.Output("conv2d", [N, O, OH, OW], x, w) : tape.Output("conv2d", [N, O, OH, OW], x, w, bias);
        var cols = new T[(long)N * groups * K * P];                                  // kept for the weight gradient
        for (int n = 0; n < N; n++)
            for (int g = 0; g < groups; g++)
            {
                int colOff = (n * groups + g) * K * P;
                Im2Col(x.Data, (n * C + g * Cg) * H * W, Cg, H, W, win, OH, OW, cols, colOff);
                Gemm.NN(w.Data, g * Og * K, cols, colOff, y.Data, (n * O + g * Og) * P, Og, K, P, accumulate: false);   // y = W·cols
            }
        if (bias is not null)
            for (int n = 0; n < N; n++)
                for (int o = 0; o < O; o++)
                {
                    int off = (n * O + o) * P;
                    for (int p = 0; p < P; p++) y.Data[off + p] += bias.Data[o];
                }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var dy = y.Grad;
                var dcols = x.RequiresGrad ? new T[K * P] : null;
                for (int n = 0; n < N; n++)
                    for (int g = 0; g < groups; g++)
                    {
                        int colOff = (n * groups + g) * K * P, yOff = (n * O + g * Og) * P;
                        if (w.RequiresGrad) Gemm.NT(dy, yOff, cols, colOff, w.Grad, g * Og * K, Og, P, K, accumulate: true);   // dW += dy·colsᵀ
                        if (dcols is not null)
                        {
                            Gemm.TN(w.Data, g * Og * K, dy, yOff, dcols, 0, Og, K, P, accumulate: false);                      // dcols = Wᵀ·dy
                            Col2Im(dcols, Cg, H, W, win, OH, OW, x.Grad, (n * C + g * Cg) * H * W);
                        }
                    }
                if (bias is not null && bias.RequiresGrad)
                    for (int n = 0; n < N; n++)
                        for (int o = 0; o < O; o++)
                        {
                            int off = (n * O + o) * P;
                            T s = T.Zero;
                            for (int p = 0; p < P; p++) s += dy[off + p];
                            bias.Grad[o] += s;
                        }
            });
        return y;
    }

    /// <summary>cols[c·KH·KW + kh·KW + kw, oh·OW + ow] = x[c, oh·s − pad + kh·d, ow·s − pad + kw·d] (0 outside).</summary>
    static void Im2Col<T>(T[] x, int xOff, int C, int H, int W, Window2D win, int OH, int OW, T[] cols, int colOff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int P = OH * OW;
        for (int c = 0; c < C; c++)
            for (int kh = 0; kh < win.KernelH; kh++)
                for (int kw = 0; kw < win.KernelW; kw++)
                {
                    int row = colOff + ((c * win.KernelH + kh) * win.KernelW + kw) * P;
                    for (int oh = 0; oh < OH; oh++)
                    {
                        int ih = oh * win.StrideH - win.PadTop + kh * win.DilationH;
                        for (int ow = 0; ow < OW; ow++)
                        {
                            int iw = ow * win.StrideW - win.PadLeft + kw * win.DilationW;
                            cols[row + oh * OW + ow] = (uint)ih < (uint)H && (uint)iw < (uint)W ? x[xOff + (c * H + ih) * W + iw] : T.Zero;
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: each column entry added back to the input pixel it came from.</summary>
    static void Col2Im<T>(T[] cols, int C, int H, int W, Window2D win, int OH, int OW, T[] dx, int dxOff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int P = OH * OW;
        for (int c = 0; c < C; c++)
            for (int kh = 0; kh < win.KernelH; kh++)
                for (int kw = 0; kw < win.KernelW; kw++)
                {
                    int row = ((c * win.KernelH + kh) * win.KernelW + kw) * P;
                    for (int oh = 0; oh < OH; oh++)
                    {
                        int ih = oh * win.StrideH - win.PadTop + kh * win.DilationH;
                        if ((uint)ih >= (uint)H) continue;
                        for (int ow = 0; ow < OW; ow++)
                        {
                            int iw = ow * win.StrideW - win.PadLeft + kw * win.DilationW;
                            if ((uint)iw < (uint)W) dx[dxOff + (c * H + ih) * W + iw] += cols[row + oh * OW + ow];
                        }
                    }
                }
    }

    /// <summary>Max over each window (padding never wins); the gradient goes to the first maximum of each window.</summary>
    public static Var<T> MaxPool2D<T>(this Tape<T> tape, Var<T> x, Window2D win) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (N, C, H, W) = Nchw(x, "max pool");
        int OH = win.OutH(H), OW = win.OutW(W);
        var y = tape.Output("max_pool", [N, C, OH, OW], x);
        var argmax = new int[y.Length];
        for (int nc = 0; nc < N * C; nc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    T best = T.NegativeInfinity;
                    int at = -1;
                    for (int kh = 0; kh < win.KernelH; kh++)
                    {
                        int ih = oh * win.StrideH - win.PadTop + kh * win.DilationH;
                        if ((uint)ih >= (uint)H) continue;
                        for (int kw = 0; kw < win.KernelW; kw++)
                        {
                            int iw = ow * win.StrideW - win.PadLeft + kw * win.DilationW;
                            if ((uint)iw >= (uint)W) continue;
                            int i = (nc * H + ih) * W + iw;
                            if (at < 0 || x.Data[i] > best) { best = x.Data[i]; at = i; }
                        }
                    }
                    int o = (nc * OH + oh) * OW + ow;
                    y.Data[o] = best;
                    argmax[o] = at;
                }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int o = 0; o < y.Length; o++) if (argmax[o] >= 0) g[argmax[o]] += y.Grad[o];
            });
        return y;
    }

    /// <summary>Mean over each window: padding counted (ONNX count_include_pad = 1) or not (0, the default).</summary>
    public static Var<T> AveragePool2D<T>(this Tape<T> tape, Var<T> x, Window2D win, bool countIncludePad = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (N, C, H, W) = Nchw(x, "average pool");
        int OH = win.OutH(H), OW = win.OutW(W);
        var y = tape.Output("average_pool", [N, C, OH, OW], x);
        var divisor = new T[OH * OW];
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
            {
                int count = 0;
                for (int kh = 0; kh < win.KernelH; kh++)
                    for (int kw = 0; kw < win.KernelW; kw++)
                    {
                        int ih = oh * win.StrideH - win.PadTop + kh * win.DilationH, iw = ow * win.StrideW - win.PadLeft + kw * win.DilationW;
                        if (countIncludePad || (uint)ih < (uint)H && (uint)iw < (uint)W) count++;
                    }
                divisor[oh * OW + ow] = T.CreateTruncating(Math.Max(1, count));
            }
        void Windows(Action<int, int, int> each)
        {
            for (int nc = 0; nc < N * C; nc++)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow++)
                        for (int kh = 0; kh < win.KernelH; kh++)
                        {
                            int ih = oh * win.StrideH - win.PadTop + kh * win.DilationH;
                            if ((uint)ih >= (uint)H) continue;
                            for (int kw = 0; kw < win.KernelW; kw++)
                            {
                                int iw = ow * win.StrideW - win.PadLeft + kw * win.DilationW;
                                if ((uint)iw < (uint)W) each((nc * OH + oh) * OW + ow, (nc * H + ih) * W + iw, oh * OW + ow);
                            }
                        }
        }
        Windows((o, i, p) => y.Data[o] += x.Data[i]);
        for (int o = 0; o < y.Length; o++) y.Data[o] /= divisor[o % (OH * OW)];
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                Windows((o, i, p) => g[i] += y.Grad[o] / divisor[p]);
            });
        return y;
    }

    /// <summary>[N, C, H, W] → [N, C, 1, 1], the mean of each map.</summary>
    public static Var<T> GlobalAveragePool<T>(this Tape<T> tape, Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (N, C, H, W) = Nchw(x, "global average pool");
        return tape.AveragePool2D(x, new Window2D(H, W));
    }

    /// <summary>Inference-mode batch norm: y = (x − mean)/√(var + ε)·γ + β per channel, the statistics constants.</summary>
    public static Var<T> BatchNorm<T>(this Tape<T> tape, Var<T> x, T[] gamma, T[] beta, T[] mean, T[] variance, double eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int N = x.Shape[0], C = x.Shape[1], S = x.Length / (N * C);
        var scale = new T[C];
        for (int c = 0; c < C; c++) scale[c] = gamma[c] / T.Sqrt(variance[c] + T.CreateTruncating(eps));
        var y = tape.Output("batch_norm", x.Shape, x);
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / S % C;
            y.Data[i] = (x.Data[i] - mean[c]) * scale[c] + beta[c];
        }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i] * scale[i / S % C];
            });
        return y;
    }

    /// <summary>max(x, 0); the gradient passes where x &gt; 0.</summary>
    public static Var<T> Relu<T>(this Tape<T> tape, Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = tape.Output("relu", x.Shape, x);
        for (int i = 0; i < x.Length; i++) y.Data[i] = x.Data[i] > T.Zero ? x.Data[i] : T.Zero;
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) if (x.Data[i] > T.Zero) g[i] += y.Grad[i];
            });
        return y;
    }

    /// <summary>The same values with another shape (flatten, reshape); the gradient flows back unchanged.</summary>
    public static Var<T> Reshape<T>(this Tape<T> tape, Var<T> x, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = tape.Output("reshape", shape, x);
        if (y.Length != x.Length) throw new ArgumentException($"reshape: {x} has {x.Length} values, [{string.Join(", ", shape)}] holds {y.Length}");
        Array.Copy(x.Data, y.Data, x.Length);
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += y.Grad[i];
            });
        return y;
    }

    static (int N, int C, int H, int W) Nchw<T>(Var<T> x, string op) where T : unmanaged, IFloatingPointIeee754<T> =>
        x.Shape.Length == 4 ? (x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]) : throw new ArgumentException($"{op}: {x} is not [N, C, H, W]");
}
