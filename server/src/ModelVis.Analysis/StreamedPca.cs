using ModelVis.Tensors;

namespace ModelVis.Analysis;

/// <summary>
/// PCA of a matrix too large to hold (a 150 k × 4 k token embedding): randomized subspace iteration (Halko, Martinsson
/// &amp; Tropp 2011, algorithm 4.4) reading the rows in chunks, each pass a matrix product on the kernels. With X̄ the
/// centred rows, Ω a Gaussian [d, l] (l = k + 10):
/// <code>
///   Y = X̄Ω;  twice: Z = orth(X̄ᵀ orth(Y)), Y = X̄Z        power iterations sharpen the spectrum
///   Q = orth(Y) [n, l];  Bᵀ = X̄ᵀQ [d, l];  BBᵀ = W Λ Wᵀ   X̄ ≈ Q B, so the scores are X̄V = Q W Λ^½
/// </code>
/// Memory is O((n + d)·l); X̄ is never formed (X̄M = XM − 1·μᵀM). Variances are λ/n as <see cref="Geometry.Pca"/> gives them.
/// </summary>
public static class StreamedPca
{
    const int ChunkRows = 2048, Oversampling = 10, PowerIterations = 2;

    /// <param name="readRow">Writes row i [d] into the span (called from several threads).</param>
    public static PcaResult Compute(int n, int d, Action<int, Span<float>> readRow, int components, CancellationToken ct = default, int seed = 1234)
    {
        if (n < 2 || d < 1) throw new ArgumentException($"PCA needs at least 2 rows, got {n} × {d}");
        int k = Math.Min(components, Math.Min(n, d));
        int l = Math.Min(k + Oversampling, Math.Min(n, d));
        var (mean, total) = MeanAndTotal(n, d, readRow, ct);

        var omega = new float[d * l];
        var random = new Random(seed);
        for (int i = 0; i < omega.Length; i++) omega[i] = (float)Gaussian(random);
        var y = TimesRight(n, d, readRow, mean, omega, l, ct);
        for (int q = 0; q < PowerIterations; q++)
        {
            Orthonormalize(y, n, l);
            var z = TransposeTimes(n, d, readRow, mean, y, l, ct);
            Orthonormalize(z, d, l);
            y = TimesRight(n, d, readRow, mean, z, l, ct);
        }
        Orthonormalize(y, n, l);
        var bt = TransposeTimes(n, d, readRow, mean, y, l, ct);     // Bᵀ [d, l]

        var bbt = new double[l * l];                                // B Bᵀ = (Bᵀ)ᵀ Bᵀ
        for (int a = 0; a < l; a++)
            for (int b = a; b < l; b++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double)bt[j * l + a] * bt[j * l + b];
                bbt[a * l + b] = bbt[b * l + a] = s;
            }
        var (values, vectors) = SymmetricEigen(bbt, l);

        var coords = new float[(long)n * k > int.MaxValue ? throw new ArgumentException("too many points") : n * k];
        var variance = new float[k];
        var explained = new float[k];
        for (int c = 0; c < k; c++)
        {
            double lambda = Math.Max(0, values[c]), scale = Math.Sqrt(lambda);
            double best = 0;
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int a = 0; a < l; a++) s += y[i * l + a] * vectors[a * l + c];
                coords[i * k + c] = (float)(s * scale);
                if (Math.Abs(s) > Math.Abs(best) + 1e-12) best = s;
            }
            // Signs fixed as Geometry.Pca fixes them: each axis's largest coordinate is positive.
            if (best < 0) for (int i = 0; i < n; i++) coords[i * k + c] = -coords[i * k + c];
            variance[c] = (float)(lambda / n);
            explained[c] = total > 0 ? (float)(lambda / total) : 0;
        }
        return new PcaResult(n, k, coords, variance, explained);
    }

    /// <summary>Reads rows [start, start + count) into <paramref name="chunk"/> [count, d], in parallel.</summary>
    static void ReadChunk(int start, int count, int d, Action<int, Span<float>> readRow, float[] chunk) =>
        Parallelism.ForRanges(count, (a, b) => { for (int r = a; r < b; r++) readRow(start + r, chunk.AsSpan(r * d, d)); }, minPerWorker: 64);

    static (double[] Mean, double Total) MeanAndTotal(int n, int d, Action<int, Span<float>> readRow, CancellationToken ct)
    {
        var sum = new double[d];
        var sumSq = new double[d];
        var chunk = new float[ChunkRows * d];
        for (int start = 0; start < n; start += ChunkRows)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(ChunkRows, n - start);
            ReadChunk(start, count, d, readRow, chunk);
            for (int r = 0; r < count; r++)
                for (int j = 0; j < d; j++) { double v = chunk[r * d + j]; sum[j] += v; sumSq[j] += v * v; }
        }
        double total = 0;
        for (int j = 0; j < d; j++) { sum[j] /= n; total += sumSq[j] - n * sum[j] * sum[j]; }
        return (sum, Math.Max(0, total));
    }

    /// <summary>X̄M [n, l] for M [d, l] row-major.</summary>
    static float[] TimesRight(int n, int d, Action<int, Span<float>> readRow, double[] mean, float[] m, int l, CancellationToken ct)
    {
        var packed = PackedMatrix.FromRowMajor(m, d, l);
        var shift = new float[l];                                   // μᵀM
        for (int j = 0; j < d; j++) for (int a = 0; a < l; a++) shift[a] += (float)(mean[j] * m[j * l + a]);
        var result = new float[n * l];
        var chunk = new float[ChunkRows * d];
        for (int start = 0; start < n; start += ChunkRows)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(ChunkRows, n - start);
            ReadChunk(start, count, d, readRow, chunk);
            var output = result.AsSpan(start * l, count * l);
            MatMul.Multiply(chunk.AsSpan(0, count * d), count, packed, output);
            for (int r = 0; r < count; r++) System.Numerics.Tensors.TensorPrimitives.Subtract(output.Slice(r * l, l), shift, output.Slice(r * l, l));
        }
        return result;
    }

    /// <summary>X̄ᵀY [d, l] for Y [n, l] row-major: Σᵢ xᵢᵀyᵢ − μ(Σᵢ yᵢ)ᵀ, chunk by chunk.</summary>
    static float[] TransposeTimes(int n, int d, Action<int, Span<float>> readRow, double[] mean, float[] y, int l, CancellationToken ct)
    {
        var result = new float[d * l];
        var ySum = new double[l];
        var chunk = new float[ChunkRows * d];
        var chunkT = new float[d * ChunkRows];
        for (int start = 0; start < n; start += ChunkRows)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(ChunkRows, n - start);
            ReadChunk(start, count, d, readRow, chunk);
            for (int r = 0; r < count; r++)
                for (int j = 0; j < d; j++) chunkT[j * count + r] = chunk[r * d + j];
            var yChunk = y.AsSpan(start * l, count * l);
            for (int r = 0; r < count; r++) for (int a = 0; a < l; a++) ySum[a] += yChunk[r * l + a];
            MatMul.Multiply(chunkT.AsSpan(0, d * count), d, PackedMatrix.FromRowMajor(yChunk, count, l), result, accumulate: true);
        }
        for (int j = 0; j < d; j++) for (int a = 0; a < l; a++) result[j * l + a] -= (float)(mean[j] * ySum[a]);
        return result;
    }

    /// <summary>
    /// Modified Gram–Schmidt on the columns of A [rows, cols], each column projected out twice ("twice is enough":
    /// once loses orthogonality in float32 when columns are nearly dependent); a column with nothing left of its own
    /// (a matrix of lower rank than l) becomes zero.
    /// </summary>
    static void Orthonormalize(float[] a, int rows, int cols)
    {
        for (int c = 0; c < cols; c++)
        {
            double before = Math.Sqrt(ColumnDot(a, rows, cols, c, c));
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < c; p++)
                {
                    double dot = ColumnDot(a, rows, cols, c, p);
                    for (int i = 0; i < rows; i++) a[i * cols + c] -= (float)(dot * a[i * cols + p]);
                }
            double norm = Math.Sqrt(ColumnDot(a, rows, cols, c, c));
            float inv = norm > 1e-5 * before && norm > 0 ? (float)(1 / norm) : 0;
            for (int i = 0; i < rows; i++) a[i * cols + c] *= inv;
        }
    }

    static double ColumnDot(float[] a, int rows, int cols, int x, int y)
    {
        double s = 0;
        for (int i = 0; i < rows; i++) s += (double)a[i * cols + x] * a[i * cols + y];
        return s;
    }

    /// <summary>Eigenvalues (descending) and eigenvectors (columns of V [n, n]) of a symmetric matrix, by cyclic Jacobi rotations.</summary>
    internal static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
            if (off < 1e-30) break;
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
        var order = Enumerable.Range(0, n).OrderByDescending(i => a[i * n + i]).ToArray();
        var values = order.Select(i => a[i * n + i]).ToArray();
        var vectors = new double[n * n];
        for (int c = 0; c < n; c++) for (int r = 0; r < n; r++) vectors[r * n + c] = v[r * n + order[c]];
        return (values, vectors);
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
