using ILGPU;
using ILGPU.Algorithms;

namespace ModelVis.Gpu.Kernels;

/// <summary>The layout and options of one attention launch (see ModelVis.Tensors.Attention.Compute for their meaning).</summary>
public struct AttentionShape
{
    public int Nq, Nk, QStride, QOffset, KvStride, KOffset, VOffset;
    /// <summary>Query heads, query heads per key/value head, dimensions per head, distance between heads in a row.</summary>
    public int Heads, Group, HeadDim, HeadStride;
    public float ScaleDivisor, SoftCap;
    public int Causal, SlidingWindow, HasKeyMask, HasBias, KeepProbabilities;

    /// <summary>The launch's shape from the arguments of ModelVis.Tensors.Attention.Compute (head stride given, never 0).</summary>
    public static AttentionShape Of(int nq, int qStride, int qOffset, int nk, int kvStride, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, int headStride, float scaleDivisor, float softCap, ModelVis.Tensors.AttentionMask mask,
        bool hasBias, bool keepProbabilities) => new()
    {
        Nq = nq, Nk = nk, QStride = qStride, QOffset = qOffset, KvStride = kvStride, KOffset = kOffset, VOffset = vOffset,
        Heads = heads, Group = heads / kvHeads, HeadDim = headDim, HeadStride = headStride,
        ScaleDivisor = scaleDivisor, SoftCap = softCap,
        Causal = mask.Causal ? 1 : 0, SlidingWindow = mask.SlidingWindow, HasKeyMask = mask.KeyMask is null ? 0 : 1,
        HasBias = hasBias ? 1 : 0, KeepProbabilities = keepProbabilities ? 1 : 0,
    };
}

public static class AttentionKernel
{
    /// <summary>
    /// One thread per (query i, head h), the same arithmetic as the CPU kernel:
    /// <code>
    ///   s_j = q_i·k_j / scale   (then cap·tanh(s_j / cap) and + bias[h, j − i + nq − 1] when asked)
    ///   keys before the sliding window, after i (causal) or masked get p_j = 0 exactly
    ///   p = softmax over the rest (uniform over the window when no key is left, as adding finfo.min gives)
    ///   context[i, h] = Σ_j p_j v_j
    /// </code>
    /// The maximum and the sum come from one online pass (s_j computed twice rather than an [n, n] buffer kept), and the
    /// probabilities are written out only when the request keeps them.
    /// </summary>
    public static void Attend(Index2D index, AttentionShape s, ArrayView<float> q, ArrayView<float> kv, ArrayView<int> keyMask,
        ArrayView<float> bias, ArrayView<float> context, ArrayView<float> probabilities)
    {
        int i = index.X, h = index.Y;
        int start = s.SlidingWindow > 0 ? XMath.Max(0, i - s.SlidingWindow + 1) : 0;
        int end = s.Causal != 0 ? XMath.Min(s.Nk, i + 1) : s.Nk;
        long contextRow = (long)i * s.Heads * s.HeadDim + (long)h * s.HeadDim;
        long probabilityRow = ((long)h * s.Nq + i) * s.Nk;

        float max = float.NegativeInfinity, sum = 0;
        bool any = false;
        for (int j = start; j < end; j++)
        {
            if (s.HasKeyMask != 0 && keyMask[j] == 0) continue;
            float score = Score(s, q, kv, bias, i, h, j);
            if (score > max)
            {
                sum *= XMath.Exp(max - score);
                max = score;
            }
            sum += XMath.Exp(score - max);
            any = true;
        }

        for (int d = 0; d < s.HeadDim; d++) context[contextRow + d] = 0;
        if (s.KeepProbabilities != 0)
        {
            for (int j = 0; j < start; j++) probabilities[probabilityRow + j] = 0;
            for (int j = end; j < s.Nk; j++) probabilities[probabilityRow + j] = 0;
        }
        float uniform = 1f / XMath.Max(1, end - start);
        for (int j = start; j < end; j++)
        {
            float p = !any ? uniform
                : s.HasKeyMask != 0 && keyMask[j] == 0 ? 0f
                : XMath.Exp(Score(s, q, kv, bias, i, h, j) - max) / sum;
            if (s.KeepProbabilities != 0) probabilities[probabilityRow + j] = p;
            if (p == 0f) continue;
            long v = (long)j * s.KvStride + s.VOffset + (long)(h / s.Group) * s.HeadStride;
            for (int d = 0; d < s.HeadDim; d++) context[contextRow + d] += p * kv[v + d];
        }
    }

    static float Score(AttentionShape s, ArrayView<float> q, ArrayView<float> kv, ArrayView<float> bias, int i, int h, int j)
    {
        long qi = (long)i * s.QStride + s.QOffset + (long)h * s.HeadStride;
        long kj = (long)j * s.KvStride + s.KOffset + (long)(h / s.Group) * s.HeadStride;
        float dot = 0;
        for (int d = 0; d < s.HeadDim; d++) dot += q[qi + d] * kv[kj + d];
        float score = dot / s.ScaleDivisor;
        if (s.SoftCap > 0) score = s.SoftCap * XMath.Tanh(score / s.SoftCap);
        if (s.HasBias != 0) score += bias[(long)h * (s.Nq + s.Nk - 1) + j - i + s.Nq - 1];
        return score;
    }
}
