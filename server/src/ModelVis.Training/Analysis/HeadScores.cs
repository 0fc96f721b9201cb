using ModelVis.Autodiff;
using ModelVis.Training.Data;
using ModelVis.Training.Llama;

namespace ModelVis.Training.Analysis;

/// <summary>Per-layer, per-head scores: [layer, head].</summary>
public sealed record HeadScoreTable(double[,] Scores)
{
    public int Layers => Scores.GetLength(0);
    public int Heads => Scores.GetLength(1);
    public (int Layer, int Head, double Score) Best()
    {
        (int, int, double) best = (0, 0, double.NegativeInfinity);
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++)
                if (Scores[l, h] > best.Item3) best = (l, h, Scores[l, h]);
        return best;
    }
}

/// <summary>
/// The standard head diagnostics, computed from attention probabilities [batch, heads, seq, seq] per layer.
/// They take the attention the model captured, so they can move to ModelVis.Analysis unchanged and be fed
/// by the inference engine's capture.
/// </summary>
public static class HeadScores
{
    /// <summary>
    /// Induction score: on sequences made of a random span of <paramref name="span"/> tokens followed by the same
    /// span again, the mean attention from each position t of the second copy to position t − span + 1 (the token
    /// that followed the current token's first occurrence).
    /// </summary>
    public static HeadScoreTable InductionScore(IReadOnlyList<float[]> attention, int batch, int seqLen, int heads, int span)
    {
        var s = new double[attention.Count, heads];
        for (int l = 0; l < attention.Count; l++)
            for (int h = 0; h < heads; h++)
            {
                double sum = 0; int n = 0;
                for (int b = 0; b < batch; b++)
                    for (int t = span; t < Math.Min(seqLen, 2 * span); t++)
                    {
                        sum += attention[l][(((long)b * heads + h) * seqLen + t) * seqLen + (t - span + 1)];
                        n++;
                    }
                s[l, h] = sum / n;
            }
        return new HeadScoreTable(s);
    }

    /// <summary>Previous-token score: mean attention from each position t ≥ 1 to t − 1.</summary>
    public static HeadScoreTable PreviousTokenScore(IReadOnlyList<float[]> attention, int batch, int seqLen, int heads)
    {
        var s = new double[attention.Count, heads];
        for (int l = 0; l < attention.Count; l++)
            for (int h = 0; h < heads; h++)
            {
                double sum = 0; int n = 0;
                for (int b = 0; b < batch; b++)
                    for (int t = 1; t < seqLen; t++)
                    {
                        sum += attention[l][(((long)b * heads + h) * seqLen + t) * seqLen + t - 1];
                        n++;
                    }
                s[l, h] = sum / n;
            }
        return new HeadScoreTable(s);
    }

    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="batch"/> sequences of a random span (tokens drawn uniformly
    /// from <paramref name="pool"/>, by default every id but the last, end of text, with a seeded generator) repeated
    /// twice, and scores every head for induction and previous-token attention. With <paramref name="repeated"/>
    /// false the second half is fresh random tokens instead: the control, on which an induction head's score
    /// falls to what position alone gives it.
    /// </summary>
    public static (HeadScoreTable Induction, HeadScoreTable PreviousToken) MeasureOnRepeatedTokens(LlamaModel<float> model, int span = 32, int batch = 8,
        int seed = 12345, int[]? pool = null, bool repeated = true)
    {
        pool ??= Enumerable.Range(0, model.Config.VocabSize - 1).ToArray();
        int seqLen = 2 * span;
        var rng = new Random(seed);
        var ids = new int[batch * seqLen];
        var window = new int[seqLen];
        for (int b = 0; b < batch; b++)
        {
            Batches.RepeatedSpan(window, rng, pool, span, span);
            if (!repeated)
                for (int t = span; t < seqLen; t++) window[t] = pool[rng.Next(pool.Length)];
            Array.Copy(window, 0, ids, b * seqLen, seqLen);
        }
        var attention = new List<float[]>();
        model.Forward(new Tape<float> { Recording = false }, ids, batch, seqLen, attention);
        return (InductionScore(attention, batch, seqLen, model.Config.Heads, span),
                PreviousTokenScore(attention, batch, seqLen, model.Config.Heads));
    }
}
