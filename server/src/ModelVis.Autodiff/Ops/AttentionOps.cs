using System.Numerics;
using ModelVis.Tensors;

namespace ModelVis.Autodiff.Ops;

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
        where T : unmanaged, IFloatingPointIeee754<T> =>
        tape.Attention(q, k, v, s, new AttentionMask(Causal: true), Math.Sqrt(s.HeadDim), capture: capture);

    /// <summary>
    /// Scaled-dot-product attention as the inference engine computes it (<see cref="ModelVis.Tensors.Attention"/>):
    /// scores s = q·kᵀ / <paramref name="scaleDivisor"/>, soft-capped to cap·tanh(s/cap) when <paramref name="softCap"/> &gt; 0
    /// (Gemma 2), keys the <paramref name="mask"/> hides (causal, padding, sliding window) get probability exactly 0,
    /// then softmax · v. A query that sees no key at all attends uniformly (as the engine), and passes no gradient to the scores.
    /// The mask is per sequence: every sequence of the batch uses it.
    /// </summary>
    public static Var<T> Attention<T>(this Tape<T> tape, Var<T> q, Var<T> k, Var<T> v, AttentionShape s, AttentionMask mask, double scaleDivisor,
        double softCap = 0, List<T[]>? capture = null)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Attend(tape, q, k, v, s, s.SeqLen, mask, scaleDivisor, softCap, null, capture);

    /// <summary>
    /// T5's attention: keys and values from a sequence of <paramref name="keyLength"/> rows per batch entry (cross-attention:
    /// decoder queries over encoder keys; or the queries' own length), and a constant position bias added to the scores,
    /// laid out as the engine's: <paramref name="relativeBias"/> [heads, s.SeqLen + keyLength − 1], the value for query i and
    /// key j at offset j − i + s.SeqLen − 1. Scores are q·kᵀ / <paramref name="scaleDivisor"/> (T5: 1) + bias, masked as
    /// <see cref="Attention{T}(Tape{T}, Var{T}, Var{T}, Var{T}, AttentionShape, AttentionMask, double, double, List{T[]}?)"/>.
    /// q: [batch·seq, heads·headDim]; k, v: [batch·keyLength, kvHeads·headDim].
    /// </summary>
    public static Var<T> Attention<T>(this Tape<T> tape, Var<T> q, Var<T> k, Var<T> v, AttentionShape s, int keyLength, AttentionMask mask,
        double scaleDivisor, float[]? relativeBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (relativeBias is not null && relativeBias.Length != s.Heads * (s.SeqLen + keyLength - 1))
            throw new ArgumentException($"attention: relative bias of {relativeBias.Length} values; {s.Heads} heads × {s.SeqLen + keyLength - 1} offsets expected");
        return Attend(tape, q, k, v, s, keyLength, mask, scaleDivisor, 0, relativeBias, null);
    }

    static Var<T> Attend<T>(Tape<T> tape, Var<T> q, Var<T> k, Var<T> v, AttentionShape s, int keyLength, AttentionMask mask, double scaleDivisor,
        double softCap, float[]? relativeBias, List<T[]>? capture)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = s.Batch, L = s.SeqLen, LK = keyLength, H = s.Heads, KV = s.KvHeads, D = s.HeadDim, biasWidth = L + LK - 1;
        if (H % KV != 0 || q.Rows != B * L || q.Cols != H * D || k.Rows != B * LK || k.Cols != KV * D || v.Rows != B * LK || v.Cols != KV * D)
            throw new ArgumentException($"attention: q {q}, k {k}, v {v} do not fit {s} over {LK} keys");
        if (mask.KeyMask is { } km && km.Length != LK) throw new ArgumentException($"attention: key mask of {km.Length} for {LK} keys");
        var y = tape.Output("attention", q.Shape, q, k, v);
        var probs = new T[(long)B * H * L * LK];
        // The raw scores' tanh when soft-capped (its derivative 1 − tanh² scales the gradient back to q·kᵀ).
        var capTanh = softCap > 0 ? new T[probs.Length] : null;
        T scale = T.One / T.CreateTruncating(scaleDivisor), cap = T.CreateTruncating(softCap);
        var visible = new bool[L * LK];
        var seesAny = new bool[L];
        for (int t = 0; t < L; t++)
            for (int j = 0; j < LK; j++)
                if (mask.Allows(t, j)) visible[t * LK + j] = seesAny[t] = true;

        void ForwardGroup(int bg)
        {
            int b = bg / KV, g = bg % KV;
            var kh = new T[LK * D]; var vh = new T[LK * D];
            var qh = new T[L * D]; var oh = new T[L * D];
            Gather(k.Data, kh, b, g, LK, KV * D, D);
            Gather(v.Data, vh, b, g, LK, KV * D, D);
            for (int h = g * s.Group; h < (g + 1) * s.Group; h++)
            {
                int pOff = (b * H + h) * L * LK;
                Gather(q.Data, qh, b, h, L, H * D, D);
                Gemm.NT(qh, 0, kh, 0, probs, pOff, L, D, LK, accumulate: false);                  // S = Q·Kᵀ
                for (int t = 0; t < L; t++)
                {
                    int row = pOff + t * LK, vis = t * LK;
                    if (!seesAny[t])
                    {
                        // Every key padded: the engine spreads the row evenly over the causal / window range.
                        int start = mask.SlidingWindow > 0 ? Math.Max(0, t - mask.SlidingWindow + 1) : 0, end = mask.Causal ? t + 1 : LK;
                        for (int j = 0; j < LK; j++) probs[row + j] = j >= start && j < end ? T.One / T.CreateTruncating(end - start) : T.Zero;
                        continue;
                    }
                    T max = T.NegativeInfinity;
                    for (int j = 0; j < LK; j++)
                    {
                        if (!visible[vis + j]) continue;
                        T score = probs[row + j] * scale;
                        if (capTanh is not null) { T th = T.Tanh(score / cap); capTanh[row + j] = th; score = cap * th; }
                        if (relativeBias is not null) score += T.CreateTruncating(relativeBias[h * biasWidth + j - t + L - 1]);
                        probs[row + j] = score;
                        if (score > max) max = score;
                    }
                    T sum = T.Zero;
                    for (int j = 0; j < LK; j++)
                    {
                        if (!visible[vis + j]) { probs[row + j] = T.Zero; continue; }
                        T e = T.Exp(probs[row + j] - max); probs[row + j] = e; sum += e;
                    }
                    T inv = T.One / sum;
                    for (int j = 0; j < LK; j++) probs[row + j] *= inv;
                }
                Gemm.NN(probs, pOff, vh, 0, oh, 0, L, LK, D, accumulate: false);
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
                    var kh = new T[LK * D]; var vh = new T[LK * D];
                    var qh = new T[L * D]; var doh = new T[L * D]; var dqh = new T[L * D];
                    var dk = new T[LK * D]; var dv = new T[LK * D];
                    var dp = new T[L * LK];
                    Gather(k.Data, kh, b, g, LK, KV * D, D);
                    Gather(v.Data, vh, b, g, LK, KV * D, D);
                    for (int h = g * s.Group; h < (g + 1) * s.Group; h++)
                    {
                        int pOff = (b * H + h) * L * LK;
                        Gather(dy, doh, b, h, L, H * D, D);
                        Gather(q.Data, qh, b, h, L, H * D, D);
                        Gemm.TN(probs, pOff, doh, 0, dv, 0, L, LK, D, accumulate: true);    // dV += Pᵀ·dO
                        Gemm.NT(doh, 0, vh, 0, dp, 0, L, D, LK, accumulate: false);        // dP = dO·Vᵀ
                        for (int t = 0; t < L; t++)
                        {
                            // Softmax backward: dS = P ⊙ (dP − Σⱼ dP·P), then the soft-cap's 1 − tanh² and the 1/scale of the scores
                            // (the bias is a constant: it passes nothing back).
                            int row = pOff + t * LK, drow = t * LK;
                            if (!seesAny[t]) { Array.Clear(dp, drow, LK); continue; }
                            T dot = T.Zero;
                            for (int j = 0; j < LK; j++) dot += dp[drow + j] * probs[row + j];
                            for (int j = 0; j < LK; j++)
                            {
                                T ds = probs[row + j] * (dp[drow + j] - dot) * scale;
                                if (capTanh is not null) ds *= T.One - capTanh[row + j] * capTanh[row + j];
                                dp[drow + j] = ds;                                           // masked keys: P = 0, so dS = 0
                            }
                        }
                        Gemm.NN(dp, 0, kh, 0, dqh, 0, L, LK, D, accumulate: false);        // dQ = dS·K
                        Gemm.TN(dp, 0, qh, 0, dk, 0, L, LK, D, accumulate: true);         // dK += dSᵀ·Q
                        if (dq != null) Scatter(dqh, dq, b, h, L, H * D, D, add: true);
                    }
                    if (dkAll != null) Scatter(dk, dkAll, b, g, LK, KV * D, D, add: true);
                    if (dvAll != null) Scatter(dv, dvAll, b, g, LK, KV * D, D, add: true);
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
