using ModelVis.Analysis.Circuits;
using ModelVis.Autodiff;
using ModelVis.Training.Data;
using ModelVis.Training.Llama;

namespace ModelVis.Training;

/// <summary>
/// The head detectors (ModelVis.Analysis) on the model being trained: it runs on the tape, not in the inference engine,
/// so this feeds them its attention. Sequences are a random span repeated twice (no BOS), scored at the repeat's
/// positions and averaged over the batch.
/// </summary>
public static class RepeatedTokenProbe
{
    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="batch"/> sequences of a random span of <paramref name="span"/> tokens
    /// (drawn uniformly from <paramref name="pool"/>, by default every id but the last, end of text, with a seeded
    /// generator) repeated twice, and scores every head. With <paramref name="repeated"/> false the second half is fresh
    /// random tokens instead: the control, on which an induction head's score falls to what position alone gives it.
    /// </summary>
    public static HeadDetectorScores Measure(LlamaModel<float> model, int span = 32, int batch = 8, int seed = 12345, int[]? pool = null, bool repeated = true)
    {
        pool ??= Enumerable.Range(0, model.Config.VocabSize - 1).ToArray();
        int seqLen = 2 * span, heads = model.Config.Heads;
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
        var attention = new List<float[]>();                                  // per layer [batch, heads, seq, seq]
        model.Forward(new Tape<float> { Recording = false }, ids, batch, seqLen, attention);

        long perSequence = (long)heads * seqLen * seqLen;
        var tables = new List<HeadDetectorScores>(batch);
        for (int b = 0; b < batch; b++)
        {
            var layers = attention.Select(a => a.AsSpan((int)(b * perSequence), (int)perSequence).ToArray()).ToList();
            tables.Add(HeadDetectors.Score(layers, heads, ids[(b * seqLen)..((b + 1) * seqLen)], new RepeatLayout(0, span)));
        }
        return HeadDetectorScores.Mean(tables);
    }
}
