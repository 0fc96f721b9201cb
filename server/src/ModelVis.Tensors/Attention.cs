using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace ModelVis.Tensors;

/// <summary>
/// Which keys a query may see. <see cref="Causal"/>: only keys at or before the query;
/// <see cref="KeyMask"/>: Hugging Face's attention_mask (0 = padding, never attended);
/// <see cref="SlidingWindow"/>: when &gt; 0, only the last that many keys (Mistral).
/// </summary>
public readonly record struct AttentionMask(bool Causal, int[]? KeyMask = null, int SlidingWindow = 0)
{
    public bool Allows(int query, int key) =>
        (!Causal || key <= query)
        && (SlidingWindow <= 0 || query - key < SlidingWindow)
        && (KeyMask is null || KeyMask[key] != 0);
}

/// <summary>
/// Multi-head scaled dot-product attention, fused: for each head and each block of 6 query rows the scores
/// q·kᵀ come out of the matmul micro-kernel into a small tile, are scaled, masked and softmaxed in place,
/// and the same tile is multiplied by V, so no [n, n] matrix exists unless the caller asks for the
/// probabilities. K and V are packed once per key/value head; grouped-query heads share them.
/// Masked probabilities are exactly 0, as in the reference (their scores get −∞ before the exponential).
/// </summary>
public static unsafe class Attention
{
    const int NR = PackedMatrix.PanelWidth;
    const int RowBlocksPerItem = 16;

    /// <summary>
    /// <paramref name="qkv"/> holds n rows of <paramref name="rowStride"/> floats; query head h is at
    /// <c>qOffset + h·headDim</c> in a row, key/value head g at <c>kOffset + g·headDim</c> / <c>vOffset + g·headDim</c>.
    /// Query head h uses key/value head <c>h / (heads / kvHeads)</c>. Scores are divided by <paramref name="scaleDivisor"/>
    /// (√headDim), as torch does. Writes <paramref name="context"/> [n, heads·headDim] and, when not empty,
    /// <paramref name="probabilities"/> [heads, n, n].
    /// <para><paramref name="softCap"/> &gt; 0 soft-caps the scaled scores before the mask, s ← cap·tanh(s / cap) (Gemma 2).
    /// <paramref name="headStride"/> &gt; 0 spaces the heads of one row that far apart instead of <paramref name="headDim"/>
    /// (GPT-NeoX keeps [q_h | k_h | v_h] together per head: stride 3·headDim, offsets 0, headDim, 2·headDim).</para>
    /// <para><paramref name="relativeBias"/>, when not empty, is added to the scaled scores (T5's position bias), laid out
    /// as the cross-attention overload below says.</para>
    /// </summary>
    public static void Compute(ReadOnlySpan<float> qkv, int n, int rowStride, int qOffset, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, float scaleDivisor, AttentionMask mask, Span<float> context, Span<float> probabilities,
        float softCap = 0, int headStride = 0, ReadOnlySpan<float> relativeBias = default) =>
        Compute(qkv, n, rowStride, qOffset, qkv, n, rowStride, kOffset, vOffset, heads, kvHeads, headDim, scaleDivisor, mask,
            context, probabilities, relativeBias, softCap, headStride);

    /// <summary>
    /// Attention of <paramref name="nq"/> query rows over <paramref name="nk"/> key/value rows that may come from another
    /// sequence (cross-attention: decoder queries, encoder keys and values). Query head h is at <c>qOffset + h·headStride</c>
    /// in a row of <paramref name="q"/> (stride <paramref name="qStride"/>), key/value head g at <c>kOffset/vOffset + g·headStride</c>
    /// in a row of <paramref name="kv"/> (stride <paramref name="kvStride"/>); the two spans may be the same buffer.
    /// For query i and key j of head h:
    /// <code>
    ///   s[j] = q_i·k_j / scaleDivisor               (soft-capped when softCap &gt; 0)
    ///   s[j] = s[j] + relativeBias[h, j − i + nq − 1]   when relativeBias is given ([heads, nq + nk − 1]: one value per offset key − query)
    ///   p    = softmax over the keys the mask allows (the others exactly 0)
    ///   context[i, h] = Σ_j p[j] · v_j
    /// </code>
    /// <paramref name="mask"/>'s key mask has <paramref name="nk"/> entries; causal masking compares positions i and j
    /// as they are (it is meant for nq = nk). Writes <paramref name="context"/> [nq, heads·headDim] and, when not empty,
    /// <paramref name="probabilities"/> [heads, nq, nk].
    /// </summary>
    public static void Compute(ReadOnlySpan<float> q, int nq, int qStride, int qOffset,
        ReadOnlySpan<float> kv, int nk, int kvStride, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, float scaleDivisor, AttentionMask mask, Span<float> context, Span<float> probabilities,
        ReadOnlySpan<float> relativeBias = default, float softCap = 0, int headStride = 0)
    {
        if (headStride <= 0) headStride = headDim;
        CheckArguments(q, nq, qStride, kv, nk, kvStride, heads, kvHeads, headDim, mask, context, probabilities, relativeBias);
        int biasWidth = nq + nk - 1;

        int keyPanels = (nk + NR - 1) / NR, paddedKeys = keyPanels * NR;
        int dimPanels = (headDim + NR - 1) / NR;
        int kPackSize = keyPanels * headDim * NR, vPackSize = dimPanels * nk * NR;
        var packs = new float[kvHeads * (kPackSize + vPackSize)];

        fixed (float* pq = q)
        fixed (float* pkv = kv)
        fixed (float* pctx = context)
        fixed (float* pprob = probabilities)
        fixed (float* pbias = relativeBias)
        fixed (float* ppack = packs)
        {
            nint qPtr = (nint)pq, kvPtr = (nint)pkv, ctxPtr = (nint)pctx, probPtr = (nint)pprob, biasPtr = (nint)pbias, packPtr = (nint)ppack;
            bool keepProbabilities = !probabilities.IsEmpty, hasBias = !relativeBias.IsEmpty;

            // Pack Kᵀ (panels of 32 keys, head_dim rows each) and V (panels of 32 dims, nk rows each) per KV head.
            Parallelism.ForEach(kvHeads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) =>
            {
                float* src = (float*)kvPtr;
                float* kPack = (float*)packPtr + (long)g * (kPackSize + vPackSize);
                float* vPack = kPack + kPackSize;
                for (int j = 0; j < nk; j++)
                {
                    float* krow = src + (long)j * kvStride + kOffset + g * headStride;
                    float* vrow = src + (long)j * kvStride + vOffset + g * headStride;
                    float* kdst = kPack + (long)(j / NR) * headDim * NR + j % NR;
                    for (int d = 0; d < headDim; d++) kdst[d * NR] = krow[d];
                    for (int d = 0; d < headDim; d++) vPack[(long)(d / NR) * nk * NR + (long)j * NR + d % NR] = vrow[d];
                }
            });

            int rowTiles = (nq + 5) / 6, itemsPerHead = (rowTiles + RowBlocksPerItem - 1) / RowBlocksPerItem;
            int ctxStride = heads * headDim, group = heads / kvHeads;
            Parallelism.ForEach(heads * itemsPerHead, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (item) =>
            {
                int h = item / itemsPerHead, block = item % itemsPerHead;
                int g = h / group;
                float* kPack = (float*)packPtr + (long)g * (kPackSize + vPackSize);
                float* vPack = kPack + kPackSize;
                var scoresArray = ArrayPool<float>.Shared.Rent(6 * paddedKeys);
                try
                {
                    fixed (float* scores = scoresArray)
                    {
                        const int tr = 6; // query rows per score tile
                        int firstRow = block * RowBlocksPerItem * 6, lastRow = Math.Min(nq, firstRow + RowBlocksPerItem * 6);
                        for (int i0 = firstRow; i0 < lastRow; i0 += tr)
                        {
                            int rows = Math.Min(tr, lastRow - i0);
                            int keyEnd = mask.Causal ? Math.Min(nk, i0 + rows) : nk;
                            int panels = (keyEnd + NR - 1) / NR;
                            // Scores for this block of queries: S = Q_h · K_gᵀ, one key panel at a time.
                            float* qh = (float*)qPtr + (long)i0 * qStride + qOffset + h * headStride;
                            for (int p = 0; p < panels; p++)
                                TileRowsOf(qh, qStride, kPack + (long)p * headDim * NR, headDim, scores + p * NR, paddedKeys, rows, NR);
                            for (int r = 0; r < rows; r++)
                            {
                                var row = new Span<float>(scores + r * paddedKeys, keyEnd);
                                // Query i's biases for keys 0..: offsets j − i + nq − 1, contiguous in the head's row.
                                var bias = hasBias ? new ReadOnlySpan<float>((float*)biasPtr + (long)h * biasWidth + nq - 1 - (i0 + r), keyEnd) : default;
                                MaskedSoftmax(row, i0 + r, scaleDivisor, mask, softCap, bias);
                                if (keepProbabilities)
                                {
                                    var dst = new Span<float>((float*)probPtr + ((long)h * nq + i0 + r) * nk, nk);
                                    row.CopyTo(dst);
                                    dst[keyEnd..].Clear();
                                }
                            }
                            // context rows = P · V_g, one 32-wide panel of head dimensions at a time.
                            float* ctx = (float*)ctxPtr + (long)i0 * ctxStride + h * headDim;
                            for (int dp = 0; dp < dimPanels; dp++)
                                TileRowsOf(scores, paddedKeys, vPack + (long)dp * nk * NR, keyEnd, ctx + dp * NR, ctxStride, rows, Math.Min(NR, headDim - dp * NR));
                        }
                    }
                }
                finally { ArrayPool<float>.Shared.Return(scoresArray); }
            });
        }
    }

    /// <summary>What every attention kernel (this one, a device's) requires of its arguments, as <see cref="Compute(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, int, int, int, int, int, int, int, float, AttentionMask, Span{float}, Span{float}, ReadOnlySpan{float}, float, int)"/> describes them.</summary>
    public static void CheckArguments(ReadOnlySpan<float> q, int nq, int qStride, ReadOnlySpan<float> kv, int nk, int kvStride,
        int heads, int kvHeads, int headDim, AttentionMask mask, ReadOnlySpan<float> context, ReadOnlySpan<float> probabilities, ReadOnlySpan<float> relativeBias)
    {
        if (heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads cannot share {kvHeads} key/value heads evenly");
        if (q.Length < (long)nq * qStride) throw new ArgumentException("q is too short");
        if (kv.Length < (long)nk * kvStride) throw new ArgumentException("kv is too short");
        if (context.Length < (long)nq * heads * headDim) throw new ArgumentException("context is too short");
        if (!probabilities.IsEmpty && probabilities.Length < (long)heads * nq * nk) throw new ArgumentException("probabilities is too short");
        if (mask.KeyMask is { } km && km.Length != nk) throw new ArgumentException($"attention mask has {km.Length} entries for {nk} keys");
        int biasWidth = nq + nk - 1;
        if (!relativeBias.IsEmpty && relativeBias.Length != (long)heads * biasWidth)
            throw new ArgumentException($"relative bias has {relativeBias.Length} values; {heads} heads × {biasWidth} offsets expected");
    }

    /// <summary>C[rows × cols] = A[rows × k] · panel, for up to 6 rows, in kernel-height steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileRowsOf(float* a, int lda, float* panel, int k, float* c, int ldc, int rows, int cols)
    {
        int tr = MatMul.TileRows;
        for (int r = 0; r < rows; r += tr)
            MatMul.Tile(a + (long)r * lda, lda, panel, k, c + (long)r * ldc, ldc, Math.Min(tr, rows - r), cols, load: false, bias: null);
    }

    /// <summary>
    /// One query row of scores over keys [0, row.Length): divide by √d, soft-cap when asked, add the position bias
    /// when given (<paramref name="bias"/>[j] for key j), mask, softmax.
    /// Masked keys end exactly 0. A row with no visible key gets a uniform distribution, which is what adding
    /// finfo.min to every score gives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MaskedSoftmax(Span<float> row, int query, float scaleDivisor, AttentionMask mask, float softCap, ReadOnlySpan<float> bias)
    {
        int start = mask.SlidingWindow > 0 ? Math.Max(0, query - mask.SlidingWindow + 1) : 0;
        int end = mask.Causal ? Math.Min(row.Length, query + 1) : row.Length;
        if (softCap > 0 || !bias.IsEmpty)
        {
            // Gemma 2: s = (q·k)·scale, then s = cap · tanh(s / cap), then the mask. T5: s = q·k + bias, then the mask.
            var scores = row[start..end];
            if (scaleDivisor != 1f) TensorPrimitives.Divide(scores, scaleDivisor, scores);
            if (softCap > 0) Activations.SoftCap(scores, softCap);
            if (!bias.IsEmpty) TensorPrimitives.Add(scores, bias[start..end], scores);
            scaleDivisor = 1f;
        }
        bool any = false;
        if (mask.KeyMask is { } km)
        {
            for (int j = start; j < end; j++)
                if (km[j] == 0) row[j] = float.NegativeInfinity;
                else any = true;
        }
        else any = end > start;
        row[..start].Clear();
        row[end..].Clear();
        var visible = row[start..end];
        if (!any)
        {
            visible.Fill(1f / Math.Max(1, visible.Length));
            return;
        }
        Softmax.InPlace(visible, scaleDivisor);
    }
}
