using ModelVis.Tensors;

namespace ModelVis.Render.Tests;

public class StatisticsTests
{
    // Naive reference: two passes in double over finite values.
    static (long finite, double min, double max, double mean, double std) Naive(float[] x)
    {
        var f = x.Where(float.IsFinite).Select(v => (double)v).ToArray();
        double mean = f.Sum() / f.Length;
        double var = f.Sum(v => (v - mean) * (v - mean)) / f.Length;
        return (f.Length, f.Min(), f.Max(), mean, Math.Sqrt(var));
    }

    [Fact]
    public void Small_example_matches_python_statistics()
    {
        // python3: statistics.fmean / pstdev of the finite float32 values [1.5, -2.25, 0, 0, 3.75, 0.001, -0.0].
        float[] x = [1.5f, -2.25f, 0f, 0f, 3.75f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0.001f, -0f, float.NaN];
        var s = Statistics.Compute(x, bins: 4);
        Assert.Equal((11L, 7L, 3L, 2L, 1L, 1L), (s.Count, s.Finite, s.Zeros, s.NaN, s.PositiveInfinity, s.NegativeInfinity));
        Assert.Equal(-2.25, s.Min);
        Assert.Equal(3.75, s.Max);
        Assert.Equal(0.42871428572107106, s.Mean, 12);
        Assert.Equal(1.6940412133850986, s.Std, 12);
        Assert.Equal(3.0 / 11, s.ZeroFraction, 12);
        Assert.Equal(2, s.Inf);
        // 4 bins over [-2.25, 3.75], edges -2.25, -0.75, 0.75, 2.25, 3.75.
        Assert.Equal([1L, 4L, 1L, 1L], s.Histogram!.Counts);
        Assert.Equal((-2.25, 3.75), (s.Histogram.Min, s.Histogram.Max));
    }

    [Fact]
    public void Histogram_follows_numpy_edges()
    {
        // numpy.histogram([0,1,2,3,4], 4) → [1,1,1,2]; numpy.histogram([5,5,5], 2) → [0,3] over [4.5, 5.5].
        Assert.Equal([1L, 1L, 1L, 2L], Statistics.Compute([0f, 1f, 2f, 3f, 4f], 4).Histogram!.Counts);
        var c = Statistics.Compute([5f, 5f, 5f], 2).Histogram!;
        Assert.Equal([0L, 3L], c.Counts);
        Assert.Equal((4.5, 5.5), (c.Min, c.Max));
        Assert.Equal(0.0, Statistics.Compute([5f, 5f, 5f]).Std);
    }

    [Fact]
    public void No_finite_values_give_NaN_moments_and_empty_histogram()
    {
        var s = Statistics.Compute([float.NaN, float.PositiveInfinity], 8);
        Assert.Equal((2L, 0L, 1L, 1L), (s.Count, s.Finite, s.NaN, s.PositiveInfinity));
        Assert.True(double.IsNaN(s.Mean) && double.IsNaN(s.Min) && double.IsNaN(s.Std));
        Assert.Equal(0, s.Histogram!.Total);
        var empty = Statistics.Compute([], 8);
        Assert.Equal(0, empty.Count);
    }

    [Fact]
    public void Random_data_with_specials_matches_a_naive_double_loop()
    {
        var rng = new Random(11);
        var x = new float[1_000_003];
        for (int i = 0; i < x.Length; i++)
            x[i] = (i % 9973) switch
            {
                0 => float.NaN,
                1 => float.PositiveInfinity,
                2 => float.NegativeInfinity,
                3 or 4 => 0f,
                _ => (float)(rng.NextDouble() * 6 - 2.5),
            };
        var s = Statistics.Compute(x, 64);
        var (finite, min, max, mean, std) = Naive(x);
        Assert.Equal(finite, s.Finite);
        Assert.Equal(x.Count(v => v == 0), s.Zeros);
        Assert.Equal(x.Count(float.IsNaN), s.NaN);
        Assert.Equal(x.Count(float.IsPositiveInfinity), s.PositiveInfinity);
        Assert.Equal((min, max), (s.Min, s.Max));
        Assert.Equal(mean, s.Mean, 10);
        Assert.Equal(std, s.Std, 10);

        // Histogram: bin = largest i with x >= edge(i), last bin closed.
        var h = s.Histogram!;
        var expected = new long[64];
        foreach (var v in x)
        {
            if (!float.IsFinite(v)) continue;
            int b = 63;
            for (int i = 1; i < 64; i++) if (v < min + i * (max - min) / 64) { b = i - 1; break; }
            expected[b]++;
        }
        Assert.Equal(expected, h.Counts);
        Assert.Equal(finite, h.Total);
    }

    [Fact]
    public void Large_offset_small_spread_stays_accurate()
    {
        // Values 10000 + k/64 (exact in float32): naive Σx² − (Σx)²/n would lose most digits.
        var x = Enumerable.Range(0, 200_000).Select(i => 10000f + (i % 64) / 64f).ToArray();
        var s = Statistics.Compute(x);
        var (_, _, _, mean, std) = Naive(x);
        Assert.Equal(mean, s.Mean, 9);
        Assert.Equal(std, s.Std, 9);
        Assert.Equal(Math.Sqrt((64.0 * 64 - 1) / 12) / 64, s.Std, 9);   // uniform over 64 equal steps
    }

    [Fact]
    public void Chunked_and_merged_results_equal_the_whole()
    {
        var rng = new Random(2);
        var x = Enumerable.Range(0, 300_001).Select(_ => (float)(rng.NextDouble() * 2 - 1) * 0.02f).ToArray();
        x[77] = float.NaN;
        var whole = Statistics.Compute(x, 32);
        long reads = 0;
        var streamed = Statistics.Compute(x.Length, (start, dst) => { reads += dst.Length; x.AsSpan((int)start, dst.Length).CopyTo(dst); }, 32, chunkSize: 7919);
        Assert.Equal(2L * x.Length, reads);   // two passes: moments, then histogram
        Assert.Equal((whole.Count, whole.Finite, whole.NaN, whole.Min, whole.Max), (streamed.Count, streamed.Finite, streamed.NaN, streamed.Min, streamed.Max));
        Assert.Equal(whole.Mean, streamed.Mean, 14);
        Assert.Equal(whole.Std, streamed.Std, 14);
        Assert.Equal(whole.Histogram!.Counts, streamed.Histogram!.Counts);

        var a = new StatisticsAccumulator();
        var b = new StatisticsAccumulator();
        a.Add(x.AsSpan(0, 123_456));
        b.Add(x.AsSpan(123_456));
        a.Add(b);
        var merged = a.Result();
        Assert.Equal(whole.Mean, merged.Mean, 14);
        Assert.Equal(whole.Std, merged.Std, 14);
        Assert.Equal(whole.Count, merged.Count);
    }
}
