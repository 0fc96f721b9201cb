using System.Numerics.Tensors;

namespace ModelVis.Analysis;

/// <summary>Representation geometry of a layer's hidden states [n, d]: norms, cosine similarities, PCA.</summary>
public static class Geometry
{
    /// <summary>‖h_i‖ for each row.</summary>
    public static float[] RowNorms(ReadOnlySpan<float> h, int n, int d)
    {
        var norms = new float[n];
        for (int i = 0; i < n; i++) norms[i] = TensorPrimitives.Norm(h.Slice(i * d, d));
        return norms;
    }

    /// <summary>cos(h_i, h_j) for all pairs, [n, n]; a zero row has similarity 0 with everything.</summary>
    public static float[] CosineSimilarity(ReadOnlySpan<float> h, int n, int d)
    {
        var norms = RowNorms(h, n, d);
        var s = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                float denom = norms[i] * norms[j];
                float c = denom > 0 ? TensorPrimitives.Dot(h.Slice(i * d, d), h.Slice(j * d, d)) / denom : 0;
                s[i * n + j] = s[j * n + i] = c;
            }
        return s;
    }

    /// <summary>
    /// Principal components of the rows of X [n, d] (centred): the top <paramref name="components"/> directions
    /// by explained variance, the rows' coordinates along them [n, components], each direction's variance and
    /// share of the total. Power iteration on XᵀX with deflation, in double precision: O(n·d) per step, so it
    /// scales to 2,048 tokens × 4,096 wide. Signs are fixed so each axis's largest coordinate is positive.
    /// </summary>
    public static PcaResult Pca(ReadOnlySpan<float> x, int n, int d, int components = 2, int maxIterations = 1000)
    {
        components = Math.Max(1, Math.Min(components, Math.Min(n, d)));
        var c = new double[n * d];
        double total = 0;
        for (int j = 0; j < d; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += x[i * d + j];
            mean /= n;
            for (int i = 0; i < n; i++) { double v = x[i * d + j] - mean; c[i * d + j] = v; total += v * v; }
        }
        var axes = new List<double[]>();
        var coords = new float[n * components];
        var variance = new float[components];
        var explained = new float[components];
        var xv = new double[n];
        for (int k = 0; k < components; k++)
        {
            // A fixed, non-degenerate start makes the result reproducible.
            var v = new double[d];
            for (int j = 0; j < d; j++) v[j] = 1.0 + 0.01 * ((j * 7919 + k * 104729) % 97);
            double lambda = 0;
            for (int it = 0; it < maxIterations; it++)
            {
                foreach (var a in axes) { double dot = Dot(v, a); for (int j = 0; j < d; j++) v[j] -= dot * a[j]; }
                Normalize(v);
                MultiplyRows(c, v, xv, n, d);              // X v
                var w = new double[d];
                for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) w[j] += c[i * d + j] * xv[i];   // Xᵀ X v
                foreach (var a in axes) { double dot = Dot(w, a); for (int j = 0; j < d; j++) w[j] -= dot * a[j]; }
                double next = Math.Sqrt(Dot(w, w));
                // What is left after deflation is rounding noise: the data has fewer directions than asked.
                if (next <= 1e-10 * Math.Max(total, 1e-300)) { lambda = 0; v = new double[d]; break; }
                for (int j = 0; j < d; j++) w[j] /= next;
                double change = 0;
                for (int j = 0; j < d; j++) change = Math.Max(change, Math.Abs(Math.Abs(w[j]) - Math.Abs(v[j])));
                v = w; lambda = next;
                if (change < 1e-12 && it > 2) break;
            }
            foreach (var a in axes) { double dot = Dot(v, a); for (int j = 0; j < d; j++) v[j] -= dot * a[j]; }
            if (lambda > 0) Normalize(v);
            axes.Add(v);
            MultiplyRows(c, v, xv, n, d);
            double best = 0;
            foreach (var t in xv) if (Math.Abs(t) > Math.Abs(best) + 1e-12) best = t;
            double sign = best < 0 ? -1 : 1;
            for (int i = 0; i < n; i++) coords[i * components + k] = (float)(sign * xv[i]);
            double lam = Dot(xv, xv);
            variance[k] = (float)(lam / n);
            explained[k] = total > 0 ? (float)(lam / total) : 0;
        }
        return new PcaResult(n, components, coords, variance, explained);
    }

    static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
    static void Normalize(double[] v) { double norm = Math.Sqrt(Dot(v, v)); if (norm > 0) for (int i = 0; i < v.Length; i++) v[i] /= norm; }
    static void MultiplyRows(double[] c, double[] v, double[] result, int n, int d)
    {
        for (int i = 0; i < n; i++) { double s = 0; for (int j = 0; j < d; j++) s += c[i * d + j] * v[j]; result[i] = s; }
    }
}

/// <summary>Rows' coordinates [n, components] along the principal axes, each axis's variance and explained share.</summary>
public sealed record PcaResult(int Rows, int Components, float[] Coordinates, float[] Variance, float[] ExplainedRatio);
