using ModelVis.Models;

namespace ModelVis.Analysis.Circuits;

/// <summary>Per layer and head: what fraction of attention goes where a known kind of head would send it. [layer][head].</summary>
public sealed record HeadDetectorScores(double[][] PreviousToken, double[][] Induction, double[][] DuplicateToken)
{
    public int Layers => PreviousToken.Length;
    public int Heads => Layers == 0 ? 0 : PreviousToken[0].Length;

    /// <summary>
    /// What head (<paramref name="layer"/>, <paramref name="head"/>) does, by its strongest score at or above
    /// <paramref name="threshold"/>: "previous-token", "induction" or "duplicate-token"; null when none reaches it.
    /// </summary>
    public string? Label(int layer, int head, double threshold = 0.4)
    {
        (string Name, double Score)[] kinds =
            [("previous-token", PreviousToken[layer][head]), ("induction", Induction[layer][head]), ("duplicate-token", DuplicateToken[layer][head])];
        var best = kinds.MaxBy(k => k.Score);
        return best.Score >= threshold ? best.Name : null;
    }

    /// <summary>The strongest head of one of the tables (<see cref="Induction"/>, <see cref="PreviousToken"/>, …) and its score.</summary>
    public static (int Layer, int Head, double Score) Best(double[][] table)
    {
        (int, int, double) best = (0, 0, double.NegativeInfinity);
        for (int l = 0; l < table.Length; l++)
            for (int h = 0; h < table[l].Length; h++)
                if (table[l][h] > best.Item3) best = (l, h, table[l][h]);
        return best;
    }

    /// <summary>The element-wise mean of several tables (the probe averages its blocks).</summary>
    public static HeadDetectorScores Mean(IReadOnlyList<HeadDetectorScores> tables)
    {
        if (tables.Count == 0) throw new AnalysisException("no head scores to average");
        double[][] Avg(Func<HeadDetectorScores, double[][]> pick) =>
            pick(tables[0]).Select((row, l) => row.Select((_, h) => tables.Average(t => pick(t)[l][h])).ToArray()).ToArray();
        return new(Avg(t => t.PreviousToken), Avg(t => t.Induction), Avg(t => t.DuplicateToken));
    }
}

/// <summary>
/// Previous-token, induction and duplicate-token scores from the attention probabilities A[l][h][q][k]
/// (fixtures/README-interp.md, section B), each a mean over query rows, so a perfect head scores 1 whatever n is:
/// <list type="bullet">
/// <item>previous-token: mean over q = 1..n−1 of A[q][q−1];</item>
/// <item>on a sequence prefix + B + B (prefix empty or one token, |B| = T, second copy at q = o+T..o+2T−1):
/// induction = mean over q = o+T..o+2T−2 of A[q][q−T+1] (the token after the first occurrence; the last query is
/// left out because its key o+T is already in the second copy), duplicate = mean over q = o+T..o+2T−1 of A[q][q−T];</item>
/// <item>on any other sequence, by token equality: each query that has an earlier occurrence of its own token
/// counts, duplicate = the attention summed over those earlier occurrences k, induction = the attention summed over
/// the keys k + 1 that followed them (k + 1 &lt; q); queries with none are left out, and a head with no such query scores 0.</item>
/// </list>
/// Means are accumulated in double over the float probabilities.
/// </summary>
public static class HeadDetectors
{
    /// <param name="attentions">Per layer, the probabilities [heads, n, n] (row q over keys k).</param>
    public static HeadDetectorScores Score(IReadOnlyList<float[]> attentions, int heads, int[] ids) =>
        Score(attentions, heads, ids, RepeatLayout.Of(ids));

    /// <summary>
    /// The scores with the repeat's layout given rather than found: on a sequence whose second block is fresh ids
    /// (the no-repeat control) induction and duplicate are read at the positions a repeat would have, so a head that
    /// follows position alone scores there as it does on the repeat, and one that follows the repeat does not.
    /// </summary>
    public static HeadDetectorScores Score(IReadOnlyList<float[]> attentions, int heads, int[] ids, RepeatLayout? layout)
    {
        var rows = attentions.Select(a => ScoreLayer(a, heads, ids, layout)).ToArray();
        return new HeadDetectorScores(rows.Select(r => r.Previous).ToArray(), rows.Select(r => r.Induction).ToArray(), rows.Select(r => r.Duplicate).ToArray());
    }

    /// <summary>One layer's three scores per head, from its probabilities [heads, n, n].</summary>
    static (double[] Previous, double[] Induction, double[] Duplicate) ScoreLayer(float[] attention, int heads, int[] ids, RepeatLayout? layout)
    {
        int n = ids.Length;
        if (attention.Length != (long)heads * n * n) throw new AnalysisException($"attention has {attention.Length} values; {heads} heads × {n} × {n} expected");
        var prev = new double[heads]; var ind = new double[heads]; var dup = new double[heads];
        for (int h = 0; h < heads; h++)
        {
            var A = attention.AsSpan(h * n * n, n * n);
            double p = 0;
            for (int q = 1; q < n; q++) p += A[q * n + q - 1];
            prev[h] = n > 1 ? p / (n - 1) : 0;
            (ind[h], dup[h]) = layout is { } r ? Repeated(A, n, r) : ByTokenEquality(A, ids);
        }
        return (prev, ind, dup);
    }

    static (double Induction, double Duplicate) Repeated(ReadOnlySpan<float> A, int n, RepeatLayout r)
    {
        int o = r.Offset, T = r.Block;
        double ind = 0, dup = 0;
        for (int q = o + T; q <= o + 2 * T - 2; q++) ind += A[q * n + q - T + 1];
        for (int q = o + T; q <= o + 2 * T - 1; q++) dup += A[q * n + q - T];
        return (ind / (T - 1), dup / T);
    }

    static (double Induction, double Duplicate) ByTokenEquality(ReadOnlySpan<float> A, int[] ids)
    {
        int n = ids.Length;
        double ind = 0, dup = 0;
        int indQueries = 0, dupQueries = 0;
        for (int q = 1; q < n; q++)
        {
            double d = 0, i = 0;
            bool any = false, anyNext = false;
            for (int k = 0; k < q; k++)
            {
                if (ids[k] != ids[q]) continue;
                any = true;
                d += A[q * n + k];
                if (k + 1 < q) { anyNext = true; i += A[q * n + k + 1]; }
            }
            if (any) { dup += d; dupQueries++; }
            if (anyNext) { ind += i; indQueries++; }
        }
        return (indQueries > 0 ? ind / indQueries : 0, dupQueries > 0 ? dup / dupQueries : 0);
    }

    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="ids"/> and scores its heads, one layer's attention at a time
    /// (recomputed from the kept residual stream), so a long text never holds every layer's [heads, n, n].
    /// </summary>
    public static HeadDetectorScores Run(LanguageModel model, int[] ids, CancellationToken ct = default)
    {
        int L = model.Config.Layers;
        var input = new ForwardInput(ids);
        var capture = model.Forward(input, new CaptureRequest(HiddenStates: true, Logits: false), ct);
        var layout = RepeatLayout.Of(ids);
        var rows = new (double[] Previous, double[] Induction, double[] Duplicate)[L];
        for (int l = 0; l < L; l++)
        {
            ct.ThrowIfCancellationRequested();
            rows[l] = ScoreLayer(model.AttentionOfLayer(l, capture.HiddenStates![l].Data, input), model.Config.Heads, ids, layout);
        }
        return new HeadDetectorScores(rows.Select(r => r.Previous).ToArray(), rows.Select(r => r.Induction).ToArray(), rows.Select(r => r.Duplicate).ToArray());
    }

    /// <summary>
    /// The standard probe: <paramref name="blocks"/> sequences, each a block of <paramref name="blockLength"/> distinct ids
    /// drawn from the whole vocabulary (special ids left out) repeated twice, after the BOS token when the model has
    /// its own (one that is not also its end of sequence, as GPT-2's is), seeded; the scores averaged over the blocks.
    /// </summary>
    public static HeadDetectorScores Probe(LanguageModel model, int blockLength, int seed, int blocks = 4,
        IProgress<(double Fraction, string Message)>? progress = null, CancellationToken ct = default)
    {
        var sequences = ProbeSequences(model.Config, blockLength, seed, blocks);
        var tables = new List<HeadDetectorScores>();
        for (int b = 0; b < sequences.Length; b++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(((double)b / sequences.Length, $"probe block {b + 1} of {sequences.Length}"));
            tables.Add(Run(model, sequences[b], ct));
        }
        progress?.Report((1, "probe done"));
        return HeadDetectorScores.Mean(tables);
    }

    /// <summary>The probe's id sequences: [BOS] + B + B per block.</summary>
    public static int[][] ProbeSequences(ModelConfig config, int blockLength, int seed, int blocks)
    {
        if (blockLength < 2) throw new AnalysisException($"--block {blockLength}: a repeated block needs 2 or more tokens");
        if (blocks < 1) throw new AnalysisException($"{blocks} probe blocks: give 1 or more");
        int? bos = config.BosTokenId is { } b && !config.EosTokenIds.Contains(b) ? b : null;
        var special = new HashSet<int>(config.EosTokenIds);
        if (config.BosTokenId is { } bb) special.Add(bb);
        if (config.PadTokenId is { } pad) special.Add(pad);
        int available = config.Vocab - special.Count(s => s >= 0 && s < config.Vocab);
        if (blockLength > available) throw new AnalysisException($"--block {blockLength}: the vocabulary has only {available} ordinary ids");
        int n = (bos is null ? 0 : 1) + 2 * blockLength;
        if (config.MaxPositions > 0 && n > config.MaxPositions)
            throw new AnalysisException($"--block {blockLength}: the probe would be {n} tokens, more than the model's {config.MaxPositions} positions");
        var rng = new Random(seed);
        var result = new int[blocks][];
        for (int s = 0; s < blocks; s++)
        {
            var block = new List<int>(blockLength);
            var used = new HashSet<int>();
            while (block.Count < blockLength)
            {
                int id = rng.Next(config.Vocab);
                if (!special.Contains(id) && used.Add(id)) block.Add(id);
            }
            result[s] = [.. (bos is { } id0 ? new[] { id0 } : []), .. block, .. block];
        }
        return result;
    }
}

/// <summary>A sequence laid out as prefix + B + B: <see cref="Offset"/> = prefix length (0 or 1), <see cref="Block"/> = |B|.</summary>
public readonly record struct RepeatLayout(int Offset, int Block)
{
    /// <summary>The layout of <paramref name="ids"/> if it is a block of 2+ tokens repeated twice after 0 or 1 prefix token.</summary>
    public static RepeatLayout? Of(int[] ids)
    {
        for (int o = 0; o <= 1; o++)
        {
            int rest = ids.Length - o;
            if (rest < 4 || rest % 2 != 0) continue;
            int T = rest / 2;
            if (ids.AsSpan(o, T).SequenceEqual(ids.AsSpan(o + T, T))) return new RepeatLayout(o, T);
        }
        return null;
    }
}
