using ModelVis.Autodiff.Ops;

namespace ModelVis.Training.Data;

/// <summary>
/// Next-token training windows drawn from a token stream, mixed with windows of a random token span
/// repeated to the end: the second and later copies can only be predicted by looking back at what
/// followed the same token before, which is what makes induction heads form.
/// </summary>
public sealed class Batches
{
    readonly int[] _stream;
    readonly Random _rng;
    readonly int[] _randomPool;

    /// <summary><paramref name="randomPool"/>: the token ids random spans are drawn from (uniformly).</summary>
    public Batches(int[] stream, int[] randomPool, int seed)
    {
        _stream = stream;
        _randomPool = randomPool;
        _rng = new Random(seed);
    }

    /// <summary>Random spans draw from the first this many ids of the pool (all of it by default).</summary>
    public int ActivePool { get; set; } = int.MaxValue;

    public int MinSpan { get; init; } = 8;
    public int MaxSpan { get; init; } = 32;

    /// <summary>Share of the repeated rows whose span is a stretch of the stream (text with its own repeats) rather than random ids.</summary>
    public double TextSpanFraction { get; init; }

    /// <summary>Ids and targets [batch·seq] for one step; a fraction of rows are repeated spans (random ids, or stretches of the stream).</summary>
    public (int[] Ids, int[] Targets) Next(int batch, int seqLen, double repeatedFraction)
    {
        var ids = new int[batch * seqLen];
        var targets = new int[batch * seqLen];
        var window = new int[seqLen + 1];
        int maxSpan = Math.Min(MaxSpan, seqLen / 2);
        for (int b = 0; b < batch; b++)
        {
            bool longStream = _stream.Length > seqLen + 1;
            bool repeated = !longStream || _rng.NextDouble() < repeatedFraction;
            if (repeated && longStream && TextSpanFraction > 0 && _rng.NextDouble() < TextSpanFraction) RepeatedTextSpan(window, MinSpan, maxSpan);
            else if (repeated) RepeatedSpan(window, _rng, ActivePool >= _randomPool.Length ? _randomPool : _randomPool[..ActivePool], MinSpan, maxSpan);
            else
            {
                int start = _rng.Next(_stream.Length - seqLen - 1);
                Array.Copy(_stream, start, window, 0, seqLen + 1);
            }
            Array.Copy(window, 0, ids, b * seqLen, seqLen);
            Array.Copy(window, 1, targets, b * seqLen, seqLen);
        }
        return (ids, targets);
    }

    /// <summary>A stretch of [minSpan, maxSpan] tokens of the stream, repeated to fill the window.</summary>
    void RepeatedTextSpan(int[] window, int minSpan, int maxSpan)
    {
        int span = _rng.Next(minSpan, Math.Max(minSpan, maxSpan) + 1);
        int start = _rng.Next(_stream.Length - span);
        Array.Copy(_stream, start, window, 0, Math.Min(span, window.Length));
        RepeatToFill(window, span);
    }

    /// <summary>Fixed held-out windows of natural text for evaluation (every n-th window, not random).</summary>
    public static (int[] Ids, int[] Targets, int Batch) Evaluation(int[] stream, int seqLen, int windows)
    {
        windows = Math.Max(1, Math.Min(windows, (stream.Length - 1) / seqLen));
        var ids = new int[windows * seqLen];
        var targets = new int[windows * seqLen];
        long stride = Math.Max(seqLen, (stream.Length - seqLen - 1) / windows);
        for (int w = 0; w < windows; w++)
        {
            int start = (int)Math.Min(stream.Length - seqLen - 1, w * stride);
            Array.Copy(stream, start, ids, w * seqLen, seqLen);
            Array.Copy(stream, start + 1, targets, w * seqLen, seqLen);
        }
        return (ids, targets, windows);
    }

    /// <summary>A random span of [minSpan, maxSpan] tokens drawn uniformly from <paramref name="pool"/>, repeated to fill the window.</summary>
    public static void RepeatedSpan(int[] window, Random rng, int[] pool, int minSpan, int maxSpan)
    {
        int span = rng.Next(minSpan, Math.Max(minSpan, maxSpan) + 1);
        // Distinct tokens within the span when the pool allows (partial Fisher–Yates), so every token of a
        // later copy has exactly one earlier occurrence to look back to.
        if (span <= pool.Length)
        {
            var order = (int[])pool.Clone();
            for (int i = 0; i < span && i < window.Length; i++)
            {
                int j = i + rng.Next(order.Length - i);
                (order[i], order[j]) = (order[j], order[i]);
                window[i] = order[i];
            }
        }
        else
            for (int i = 0; i < span && i < window.Length; i++) window[i] = pool[rng.Next(pool.Length)];
        RepeatToFill(window, span);
    }

    /// <summary>Copies the window's first <paramref name="span"/> tokens over the rest of it, again and again.</summary>
    static void RepeatToFill(int[] window, int span)
    {
        for (int i = span; i < window.Length; i++) window[i] = window[i - span];
    }

    /// <summary>
    /// The <paramref name="count"/> most frequent ids of the stream (ties: lower id first), leaving out <paramref name="exclude"/>.
    /// Random spans are drawn from these: a copy mechanism is learned much sooner for a hundred tokens the model
    /// sees often than for the whole vocabulary, and the heads it builds match on any token (see RepeatedTokenProbe).
    /// </summary>
    public static int[] FrequentTokens(int[] stream, int vocab, int count, int exclude)
    {
        var counts = new long[vocab];
        foreach (var t in stream) counts[t]++;
        return Enumerable.Range(0, vocab).Where(t => t != exclude && counts[t] > 0)
            .OrderByDescending(t => counts[t]).ThenBy(t => t).Take(count).Order().ToArray();
    }

    /// <summary>Entropy (nats) of the stream's token frequencies: the loss of the best model that ignores context.</summary>
    public static double UnigramEntropy(int[] stream, int vocab)
    {
        var counts = new long[vocab];
        foreach (var t in stream) counts[t]++;
        double h = 0;
        foreach (var c in counts)
            if (c > 0) { double p = (double)c / stream.Length; h -= p * Math.Log(p); }
        return h;
    }
}
