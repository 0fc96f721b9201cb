using System.Numerics;
using ModelVis.Tensors;
using ModelVis.Training.Autodiff;
using ModelVis.Training.Kernels;

namespace ModelVis.Training.Ops;

/// <summary>Geometry of multi-head attention over a batch of equal-length sequences.</summary>
public readonly record struct AttentionShape(int Batch, int SeqLen, int Heads, int KvHeads, int HeadDim)
{
    /// <summary>Query heads per key/value head (grouped-query attention); head h reads kv head h / Group.</summary>
    public int Group => Heads / KvHeads;
}

public static class AttentionOps
{
    /// <summary>
    /// Causal scaled-dot-product attention, softmax(q·kᵀ/√d + causal mask)·v, per head, with grouped-query
    /// sharing. q: [batch·seq, heads·headDim]; k, v: [batch·seq, kvHeads·headDim]; output like q.
    /// When <paramref name="capture"/> is given, the probabilities [batch, heads, seq, seq] are added to it
    /// (masked entries exactly 0).
    /// </summary>
    public static Var<T> CausalAttention<T>(this Tape<T> tape, Var<T> q, Var<T> k, Var<T> v, AttentionShape s, List<T[]>? capture = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = s.Batch, L = s.SeqLen, H = s.Heads, KV = s.KvHeads, D = s.HeadDim;
        if (H % KV != 0 || q.Rows != B * L || q.Cols != H * D || k.Rows != B * L || k.Cols != KV * D || v.Rows != B * L || v.Cols != KV * D)
            throw new ArgumentException($"attention: q {q}, k {k}, v {v} do not fit {s}");
        var y = tape.Output("attention", q.Shape, q, k, v);
        var probs = new T[(long)B * H * L * L];
        T scale = T.One / T.Sqrt(T.CreateTruncating(D));

        void ForwardGroup(int bg)
        {
            int b = bg / KV, g = bg % KV;
            var kh = new T[L * D]; var vh = new T[L * D];
            var qh = new T[L * D]; var oh = new T[L * D];
            Gather(k.Data, kh, b, g, L, KV * D, D);
            Gather(v.Data, vh, b, g, L, KV * D, D);
            for (int h = g * s.Group; h < (g + 1) * s.Group; h++)
            {
                int pOff = (b * H + h) * L * L;
                Gather(q.Data, qh, b, h, L, H * D, D);
                Gemm.NT(qh, 0, kh, 0, probs, pOff, L, D, L, accumulate: false);                   // S = Q·Kᵀ
                for (int t = 0; t < L; t++)
                {
                    int row = pOff + t * L;
                    T max = T.NegativeInfinity;
                    for (int j = 0; j <= t; j++) { probs[row + j] *= scale; if (probs[row + j] > max) max = probs[row + j]; }
                    T sum = T.Zero;
                    for (int j = 0; j <= t; j++) { T e = T.Exp(probs[row + j] - max); probs[row + j] = e; sum += e; }
                    T inv = T.One / sum;
                    for (int j = 0; j <= t; j++) probs[row + j] *= inv;
                    for (int j = t + 1; j < L; j++) probs[row + j] = T.Zero;
                }
                Gemm.NN(probs, pOff, vh, 0, oh, 0, L, L, D, accumulate: false);
                Scatter(oh, y.Data, b, h, L, H * D, D, add: false);
            }
        }
        Parallelism.ForEach(B * KV, ForwardGroup);
        capture?.Add(probs);

        if (y.RequiresGrad)
            tape.Record(() =>
            {
                // Touch the gradients once here, not first inside the parallel groups.
                var dy = y.Grad;
                var dq = q.RequiresGrad ? q.Grad : null;
                var dkAll = k.RequiresGrad ? k.Grad : null;
                var dvAll = v.RequiresGrad ? v.Grad : null;
                void BackwardGroup(int bg)
                {
                    int b = bg / KV, g = bg % KV;
                    var kh = new T[L * D]; var vh = new T[L * D];
                    var qh = new T[L * D]; var doh = new T[L * D]; var dqh = new T[L * D];
                    var dk = new T[L * D]; var dv = new T[L * D];
                    var dp = new T[L * L];
                    Gather(k.Data, kh, b, g, L, KV * D, D);
                    Gather(v.Data, vh, b, g, L, KV * D, D);
                    for (int h = g * s.Group; h < (g + 1) * s.Group; h++)
                    {
                        int pOff = (b * H + h) * L * L;
                        Gather(dy, doh, b, h, L, H * D, D);
                        Gather(q.Data, qh, b, h, L, H * D, D);
                        Gemm.TN(probs, pOff, doh, 0, dv, 0, L, L, D, accumulate: true);     // dV += Pᵀ·dO
                        Gemm.NT(doh, 0, vh, 0, dp, 0, L, D, L, accumulate: false);         // dP = dO·Vᵀ
                        for (int t = 0; t < L; t++)
                        {
                            // Softmax backward: dS = P ⊙ (dP − Σⱼ dP·P), then the 1/√d of the scores.
                            int row = pOff + t * L, drow = t * L;
                            T dot = T.Zero;
                            for (int j = 0; j <= t; j++) dot += dp[drow + j] * probs[row + j];
                            for (int j = 0; j <= t; j++) dp[drow + j] = probs[row + j] * (dp[drow + j] - dot) * scale;
                            for (int j = t + 1; j < L; j++) dp[drow + j] = T.Zero;
                        }
                        Gemm.NN(dp, 0, kh, 0, dqh, 0, L, L, D, accumulate: false);         // dQ = dS·K
                        Gemm.TN(dp, 0, qh, 0, dk, 0, L, L, D, accumulate: true);          // dK += dSᵀ·Q
                        if (dq != null) Scatter(dqh, dq, b, h, L, H * D, D, add: true);
                    }
                    if (dkAll != null) Scatter(dk, dkAll, b, g, L, KV * D, D, add: true);
                    if (dvAll != null) Scatter(dv, dvAll, b, g, L, KV * D, D, add: true);
                }
                Parallelism.ForEach(B * KV, BackwardGroup);
            });
        return y;
    }

    /// <summary>head h of sequence b out of a [batch·seq, width] matrix into a contiguous [seq, headDim] block.</summary>
    static void Gather<T>(T[] src, T[] dst, int b, int h, int L, int width, int D)
    {
        for (int t = 0; t < L; t++) Array.Copy(src, (b * L + t) * width + h * D, dst, t * D, D);
    }

    static void Scatter<T>(T[] src, T[] dst, int b, int h, int L, int width, int D, bool add) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int t = 0; t < L; t++)
        {
            int o = (b * L + t) * width + h * D;
            if (add) for (int j = 0; j < D; j++) dst[o + j] += src[t * D + j];
            else Array.Copy(src, t * D, dst, o, D);
        }
    }
}
