namespace ModelVis.Runs;

/// <summary>
/// TensorBoard's distribution chart: a histogram reduced to the values at fixed percentiles (in basis points:
/// the minimum, ±1.5σ, ±1σ, ±0.5σ of a normal distribution, the median, and the maximum), found by walking the
/// cumulative counts and interpolating linearly inside the bucket where each percentile falls.
/// </summary>
public static class HistogramPercentiles
{
    public static readonly int[] BasisPoints = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

    public static double[] Compute(HistogramStep h) => Compute(h.Left, h.Right, h.Counts, BasisPoints);

    public static double[] Compute(double[] left, double[] right, double[] counts, int[] basisPoints)
    {
        var result = new double[basisPoints.Length];
        double total = 0;
        foreach (var c in counts) total += c;
        if (counts.Length == 0 || total <= 0)
        {
            Array.Fill(result, double.NaN);
            return result;
        }
        int bucket = 0;
        double before = 0; // count of all buckets before `bucket`
        for (int i = 0; i < basisPoints.Length; i++)
        {
            double target = total * basisPoints[i] / 10000.0;
            // Move to the first bucket whose cumulative count reaches the target (skipping empty ones).
            while (bucket < counts.Length - 1 && (before + counts[bucket] < target || counts[bucket] == 0))
            {
                before += counts[bucket];
                bucket++;
            }
            double c = counts[bucket];
            double fraction = c > 0 ? Math.Clamp((target - before) / c, 0, 1) : 1;
            result[i] = left[bucket] + fraction * (right[bucket] - left[bucket]);
        }
        return result;
    }
}
