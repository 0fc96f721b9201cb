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
    /// by explained variance, the rows' coordinates along them [n, components], and each direction's variance.
    /// Computed from the n × n Gram matrix of the centred rows (n is tokens, usually smaller than d) by
    /// symmetric Jacobi eigen-decomposition in double precision. Signs are fixed so each axis's largest
    /// coordinate is positive, which makes results reproducible.
    /// </summary>
    public static PcaResult Pca(ReadOnlySpan<float> x, int n, int d, int components = 2)
    {
        components = Math.Min(components, Math.Min(n, d));
        var centred = new double[n * d];
        for (int j = 0; j < d; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += x[i * d + j];
            mean /= n;
            for (int i = 0; i < n; i++) centred[i * d + j] = x[i * d + j] - mean;
        }
        var gram = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                double dot = 0;
                for (int t = 0; t < d; t++) dot += centred[i * d + t] * centred[j * d + t];
                gram[i * n + j] = gram[j * n + i] = dot;
            }
        var (values, vectors) = SymmetricEigen(gram, n);
        var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).Take(components).ToArray();
        var coords = new float[n * components];
        var variance = new float[components];
        double total = values.Where(v => v > 0).Sum();
        var explained = new float[components];
        for (int c = 0; c < components; c++)
        {
            int e = order[c];
            double lambda = Math.Max(0, values[e]);
            // Coordinates of row i along component c: u_i · sqrt(λ) (the Gram eigenvector scaled).
            double sign = 1, best = 0;
            for (int i = 0; i < n; i++) if (Math.Abs(vectors[i * n + e]) > Math.Abs(best)) best = vectors[i * n + e];
            if (best < 0) sign = -1;
            for (int i = 0; i < n; i++) coords[i * components + c] = (float)(sign * vectors[i * n + e] * Math.Sqrt(lambda));
            variance[c] = (float)(lambda / Math.Max(1, n));
            explained[c] = total > 0 ? (float)(lambda / total) : 0;
        }
        return new PcaResult(n, components, coords, variance, explained);
    }

    /// <summary>Jacobi rotations on a symmetric matrix: eigenvalues and eigenvectors (columns of the returned n × n).</summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
            if (off < 1e-22) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i * n + i];
        return (values, v);
    }
}

/// <summary>Rows' coordinates [n, components] along the principal axes, each axis's variance and explained share.</summary>
public sealed record PcaResult(int Rows, int Components, float[] Coordinates, float[] Variance, float[] ExplainedRatio);
