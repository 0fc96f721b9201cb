using System.Numerics;

namespace ModelVis.Autodiff.Ops;

/// <summary>
/// Rotary position embedding, Hugging Face "rotate_half" convention: within each head the first half of
/// the dimensions pairs with the second half, x' = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁]
/// and angle(pos, j) = pos · θ^(−2j/head_dim) for j &lt; head_dim/2 (duplicated over both halves).
/// </summary>
public static class RotaryOps
{
    /// <summary>x: [batch·seq, heads·headDim], rows in sequence order; row r has position r mod seq.</summary>
    public static Var<T> Rotary<T>(this Tape<T> tape, Var<T> x, int seqLen, int headDim, double theta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Rows, width = x.Cols, half = headDim / 2, heads = width / headDim;
        if (headDim % 2 != 0 || width % headDim != 0 || n % seqLen != 0)
            throw new ArgumentException($"rotary: {x} is not [batch·{seqLen}, heads·{headDim}]");
        var (cos, sin) = Tables<T>(seqLen, headDim, theta);
        var y = tape.Output("rotary", x.Shape, x);
        Rotate(x.Data, y.Data, cos, sin, n, seqLen, heads, headDim, inverse: false);
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                // The rotation is orthogonal: the gradient rotates back by −angle.
                var back = new T[x.Length];
                Rotate(y.Grad, back, cos, sin, n, seqLen, heads, headDim, inverse: true);
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += back[i];
            });
        return y;
    }

    /// <summary>
    /// Rotary embedding with the inference engine's tables (<see cref="ModelVis.Tensors.Rotary.Tables"/>: cos and sin
    /// [seq, rotaryDim], each half repeated, rope scaling already applied): the first <c>rotaryDim</c> channels of each
    /// head of <paramref name="headDim"/> rotate, the rest pass through. x: [batch·seq, heads·headDim].
    /// </summary>
    public static Var<T> Rotary<T>(this Tape<T> tape, Var<T> x, int seqLen, int headDim, float[] cos, float[] sin)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Rows, width = x.Cols, heads = width / headDim, rot = cos.Length / seqLen, half = rot / 2;
        if (width % headDim != 0 || n % seqLen != 0 || rot % 2 != 0 || rot > headDim || sin.Length != cos.Length)
            throw new ArgumentException($"rotary: {x} is not [batch·{seqLen}, heads·{headDim}] or the tables do not fit");
        var c = new T[seqLen * half];
        var sn = new T[seqLen * half];
        for (int p = 0; p < seqLen; p++)
            for (int j = 0; j < half; j++)
            {
                c[p * half + j] = T.CreateTruncating(cos[p * rot + j]);
                sn[p * half + j] = T.CreateTruncating(sin[p * rot + j]);
            }
        var y = tape.Output("rotary", x.Shape, x);
        Array.Copy(x.Data, y.Data, x.Length);                                     // channels past rotaryDim pass through
        Rotate(x.Data, y.Data, c, sn, n, seqLen, heads, headDim, inverse: false, rot);
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                var back = (T[])y.Grad.Clone();
                Rotate(y.Grad, back, c, sn, n, seqLen, heads, headDim, inverse: true, rot);
                var g = x.Grad;
                for (int i = 0; i < g.Length; i++) g[i] += back[i];
            });
        return y;
    }

    /// <summary>cos and sin tables [seq, headDim/2], computed in double then rounded.</summary>
    public static (T[] Cos, T[] Sin) Tables<T>(int seqLen, int headDim, double theta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int half = headDim / 2;
        var cos = new T[seqLen * half];
        var sin = new T[seqLen * half];
        for (int p = 0; p < seqLen; p++)
            for (int j = 0; j < half; j++)
            {
                double angle = p * Math.Pow(theta, -2.0 * j / headDim);
                cos[p * half + j] = T.CreateTruncating(Math.Cos(angle));
                sin[p * half + j] = T.CreateTruncating(Math.Sin(angle));
            }
        return (cos, sin);
    }

    /// <summary>Rotates the first <paramref name="rotaryDim"/> channels (0: all) of each head from src into dst.</summary>
    static void Rotate<T>(T[] src, T[] dst, T[] cos, T[] sin, int n, int seqLen, int heads, int headDim, bool inverse, int rotaryDim = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int half = (rotaryDim > 0 ? rotaryDim : headDim) / 2, width = heads * headDim;
        for (int r = 0; r < n; r++)
        {
            int pos = r % seqLen;
            for (int h = 0; h < heads; h++)
            {
                int o = r * width + h * headDim;
                for (int j = 0; j < half; j++)
                {
                    T c = cos[pos * half + j], s = inverse ? -sin[pos * half + j] : sin[pos * half + j];
                    T x1 = src[o + j], x2 = src[o + half + j];
                    dst[o + j] = x1 * c - x2 * s;
                    dst[o + half + j] = x2 * c + x1 * s;
                }
            }
        }
    }
}
