using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// The token embedding and the output head of a decoder, tied or not. Tied: one matrix, the head, and a lookup
/// reads one of its columns. Untied: the embedding's rows read from the checkpoint as tokens need them (never
/// widened as a whole: 128 k × 4 k floats would be 2 GB), the head on its own.
/// </summary>
sealed class TokenEmbedding
{
    readonly WeightMatrix _rows;
    readonly Linear _head;

    /// <param name="embedding">The embedding's name under <c>w.Prefix</c> (embed_tokens.weight, embed_in.weight).</param>
    /// <param name="head">The head's full name (lm_head.weight, embed_out.weight); tied when absent or when <paramref name="tied"/>.</param>
    public TokenEmbedding(Weights w, string embedding, string head, bool tied, int vocab, int hidden)
    {
        if (tied || !w.HasExact(head)) _rows = (_head = new Linear(w.LinearWeight(embedding, vocab, hidden))).Weight;
        else
        {
            _rows = w.EmbeddingRows(embedding, vocab, hidden);
            var prefix = w.Prefix;
            w.Prefix = "";
            _head = new Linear(w.LinearWeight(head, vocab, hidden));
            w.Prefix = prefix;
        }
    }

    /// <summary>h [n, d] = embedding[ids].</summary>
    public void Lookup(int[] ids, Span<float> h)
    {
        int d = _head.InFeatures;
        for (int i = 0; i < ids.Length; i++) Row(ids[i], h.Slice(i * d, d));
    }

    /// <summary>The embedding's row for token <paramref name="id"/> [d].</summary>
    public void Row(int id, Span<float> row) => _rows.CopyColumn(id, row);

    /// <summary>The head's row for token <paramref name="id"/> [d] (what that token's logit reads from the final hidden row).</summary>
    public void HeadRow(int id, Span<float> row) => _head.Weight.CopyColumn(id, row);

    /// <summary>logits [rows, vocab] = h · headᵀ.</summary>
    public void Head(ReadOnlySpan<float> h, int rows, Span<float> logits) => _head.Forward(h, rows, logits);
}
