using System.Numerics.Tensors;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Analysis;

public readonly record struct TokenProb(int Id, float Prob);

/// <summary>
/// The logit lens (nostalgebraist 2020): read every layer's hidden state through the model's own final norm
/// and unembedding, as if the network stopped there. Layer k reads hidden_states.k; for k &lt; L the final norm
/// is applied first, and k = L (already normed) is the model's own output distribution.
/// </summary>
public sealed class LogitLens
{
    /// <summary>[k][position] → probabilities over the vocabulary would be L+1 × n × vocab floats; only what is asked is kept.</summary>
    public int Layers { get; }
    public int Tokens { get; }
    /// <summary>[k][position][rank]: the top-k next tokens.</summary>
    public TokenProb[][][] Top { get; }
    /// <summary>[k][position]: rank (0 = top) of the token that actually comes next, or -1 at the last position.</summary>
    public int[][] NextTokenRank { get; }
    /// <summary>[k][position]: probability of the token that actually comes next (0 at the last position).</summary>
    public float[][] NextTokenProb { get; }

    LogitLens(int layers, int tokens, TokenProb[][][] top, int[][] rank, float[][] prob)
    {
        Layers = layers; Tokens = tokens; Top = top; NextTokenRank = rank; NextTokenProb = prob;
    }

    /// <param name="hiddenStates">hidden_states.0..L, each [n, d], as the engine's capture names them.</param>
    public static LogitLens Compute(LanguageModel model, IReadOnlyList<float[]> hiddenStates, int[] ids, int topK, CancellationToken ct = default)
    {
        int L = hiddenStates.Count - 1, n = ids.Length, vocab = model.Config.Vocab;
        if (!model.Config.HasLmHead)
            throw new AnalysisException($"{model.Config.ModelType}: this checkpoint has no output head (no lm_head / MLM head), so the logit lens cannot read its layers");
        topK = Math.Clamp(topK, 1, vocab);
        var top = new TokenProb[L + 1][][];
        var rank = new int[L + 1][];
        var prob = new float[L + 1][];
        for (int k = 0; k <= L; k++)
        {
            ct.ThrowIfCancellationRequested();
            var logits = model.Unembed(hiddenStates[k], n, applyFinalNorm: k < L);
            top[k] = new TokenProb[n][];
            rank[k] = new int[n];
            prob[k] = new float[n];
            Parallelism.ForEach(n, i =>
            {
                var row = logits.AsSpan(i * vocab, vocab);
                TensorPrimitives.SoftMax(row, row);
                top[k][i] = TopK(row, topK);
                if (i + 1 < n)
                {
                    int next = ids[i + 1];
                    float p = row[next];
                    int r = 0;
                    for (int v = 0; v < vocab; v++) if (row[v] > p || (row[v] == p && v < next)) r++;
                    rank[k][i] = r;
                    prob[k][i] = p;
                }
                else rank[k][i] = -1;
            });
        }
        return new LogitLens(L + 1, n, top, rank, prob);
    }

    /// <summary>The k largest entries, largest first (ties by lower id).</summary>
    public static TokenProb[] TopK(ReadOnlySpan<float> probs, int k)
    {
        var best = new List<TokenProb>(k + 1);
        for (int v = 0; v < probs.Length; v++)
        {
            float p = probs[v];
            if (best.Count == k && p <= best[^1].Prob) continue;
            int at = best.Count;
            while (at > 0 && best[at - 1].Prob < p) at--;
            best.Insert(at, new TokenProb(v, p));
            if (best.Count > k) best.RemoveAt(best.Count - 1);
        }
        return best.ToArray();
    }
}
