using System.Numerics.Tensors;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Analysis;

/// <summary>A token near another one: its id and the cosine of their rows.</summary>
public readonly record struct Neighbor(int Id, float Cosine);

/// <summary>
/// Nearest tokens by cosine similarity in a token matrix (the embedding or the unembedding): every row read in
/// its stored precision, one at a time, so a 150 k × 4 k BF16 table is never widened as a whole.
/// cos(a, b) = a·b / (‖a‖‖b‖); a zero row has cosine 0 with everything.
/// </summary>
public static class TokenNeighbors
{
    /// <summary>
    /// The <paramref name="k"/> tokens whose rows have the largest cosine with token <paramref name="id"/>'s row,
    /// the token itself left out; ties go to the smaller id.
    /// </summary>
    public static Neighbor[] Nearest(LanguageModel model, TokenMatrix matrix, int id, int k, CancellationToken ct = default)
    {
        int d = model.Config.Hidden;
        var query = new float[d];
        model.TokenRow(matrix, id, query);
        return Nearest(model, matrix, query, k, exclude: id, ct);
    }

    /// <summary>The <paramref name="k"/> tokens whose rows have the largest cosine with <paramref name="query"/> [d] (token <paramref name="exclude"/> left out; −1: none).</summary>
    public static Neighbor[] Nearest(LanguageModel model, TokenMatrix matrix, ReadOnlySpan<float> query, int k, int exclude = -1, CancellationToken ct = default)
    {
        int vocab = model.Config.Vocab, d = model.Config.Hidden;
        if (k < 1) throw new ModelException($"--k {k}: ask for 1 or more neighbours");
        if (query.Length != d) throw new ModelException($"the query has {query.Length} values; the token rows have {d}");
        float queryNorm = TensorPrimitives.Norm(query);
        var q = query.ToArray();
        var cosines = new float[vocab];
        Parallelism.ForRanges(vocab, (start, end) =>
        {
            var row = new float[d];
            for (int t = start; t < end; t++)
            {
                if ((t & 1023) == 0) ct.ThrowIfCancellationRequested();
                model.TokenRow(matrix, t, row);
                float denom = queryNorm * TensorPrimitives.Norm(row);
                cosines[t] = denom > 0 ? TensorPrimitives.Dot(q, row) / denom : 0;
            }
        }, minPerWorker: 1024);
        return Top(cosines, Math.Min(k, vocab - (exclude >= 0 ? 1 : 0)), exclude);
    }

    /// <summary>The k largest entries, largest first, ties to the smaller index; <paramref name="exclude"/> skipped.</summary>
    static Neighbor[] Top(float[] cosines, int k, int exclude)
    {
        // A min-heap of the best k so far: O(V log k) over the vocabulary.
        var heap = new PriorityQueue<int, (float Cosine, int NegId)>(k + 1);
        for (int t = 0; t < cosines.Length; t++)
        {
            if (t == exclude) continue;
            heap.Enqueue(t, (cosines[t], -t));
            if (heap.Count > k) heap.Dequeue();
        }
        var top = new Neighbor[heap.Count];
        for (int i = top.Length - 1; i >= 0; i--)
        {
            int t = heap.Dequeue();
            top[i] = new Neighbor(t, cosines[t]);
        }
        return top;
    }
}
