using ModelVis.Tensors;

namespace ModelVis.Analysis;

/// <summary>
/// Attention rollout (Abnar &amp; Zuidema 2020, "Quantifying Attention Flow in Transformers"): each layer's
/// head-averaged attention A is mixed with the identity for the residual connection, Â = ½A + ½I, rows
/// renormalised to sum to 1, and the layers multiplied bottom-up: R = Â_L · … · Â_1. Row i of R says how
/// much of output position i is drawn from each input token.
/// </summary>
public static class AttentionRollout
{
    /// <summary>Â = ½·A + ½·I with each row renormalised; A is one layer's [n, n] attention (already head-reduced).</summary>
    public static double[] ResidualAdjusted(ReadOnlySpan<float> attention, int n)
    {
        if (attention.Length != n * n) throw new ArgumentException($"attention has {attention.Length} values, not {n}×{n}");
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                double v = 0.5 * attention[i * n + j] + (i == j ? 0.5 : 0);
                a[i * n + j] = v;
                sum += v;
            }
            if (sum > 0) for (int j = 0; j < n; j++) a[i * n + j] /= sum;
        }
        return a;
    }

    /// <summary>Mean over heads of [heads, n, n] → [n, n].</summary>
    public static float[] MeanOverHeads(ReadOnlySpan<float> attention, int heads, int n)
    {
        var mean = new float[n * n];
        for (int h = 0; h < heads; h++)
            System.Numerics.Tensors.TensorPrimitives.Add(mean, attention.Slice(h * n * n, n * n), mean);
        System.Numerics.Tensors.TensorPrimitives.Multiply(mean, 1f / heads, mean);
        return mean;
    }

    /// <summary>
    /// Rollout through <paramref name="layers"/> (bottom layer first), each a head-averaged [n, n] attention.
    /// Returns R [n, n] as float.
    /// </summary>
    public static float[] Compute(IReadOnlyList<float[]> layers, int n, CancellationToken ct = default)
    {
        if (layers.Count == 0) throw new ArgumentException("rollout needs at least one layer");
        var r = ResidualAdjusted(layers[0], n);
        var next = new double[n * n];
        for (int l = 1; l < layers.Count; l++)
        {
            ct.ThrowIfCancellationRequested();
            var a = ResidualAdjusted(layers[l], n);
            MultiplyInto(a, r, next, n);
            (r, next) = (next, r);
        }
        return Array.ConvertAll(r, v => (float)v);
    }

    /// <summary>c = a · b for n × n matrices (double precision: rollout multiplies many near-stochastic matrices).</summary>
    static void MultiplyInto(double[] a, double[] b, double[] c, int n)
    {
        Parallelism.ForEach(n, i =>
        {
            var row = c.AsSpan(i * n, n);
            row.Clear();
            for (int k = 0; k < n; k++)
            {
                double aik = a[i * n + k];
                if (aik == 0) continue;
                var bk = b.AsSpan(k * n, n);
                for (int j = 0; j < n; j++) row[j] += aik * bk[j];
            }
        });
    }
}
