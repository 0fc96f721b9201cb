namespace ModelVis.Analysis;

/// <summary>
/// Non-negative matrix factorisation A ≈ W·H (A [n, m] ≥ 0, W [n, k], H [k, m]) by Lee &amp; Seung's multiplicative
/// updates minimising the Frobenius error. Ecco's use: A = a layer's MLP activations (tokens × neurons, negatives
/// clipped to 0); each of the k components is a group of neurons, and W[:, c] says how strongly each token
/// expresses it. Initialisation is deterministic (a fixed-seed generator scaled to A's mean), so results repeat.
/// </summary>
public static class Nmf
{
    public static NmfResult Factorize(ReadOnlySpan<float> a, int n, int m, int k, int iterations = 200, int seed = 0, CancellationToken ct = default)
    {
        if (k < 1 || k > Math.Min(n, m)) throw new AnalysisException($"NMF needs 1 ≤ components ≤ min(tokens, neurons) = {Math.Min(n, m)}; got {k}");
        var A = new double[n * m];
        double mean = 0;
        for (int i = 0; i < n * m; i++) { A[i] = Math.Max(0, a[i]); mean += A[i]; }
        mean /= n * m;
        var rng = new Random(seed);
        double scale = Math.Sqrt(Math.Max(mean, 1e-12) / k);
        var W = new double[n * k];
        var H = new double[k * m];
        for (int i = 0; i < W.Length; i++) W[i] = scale * (0.5 + rng.NextDouble());
        for (int i = 0; i < H.Length; i++) H[i] = scale * (0.5 + rng.NextDouble());
        const double eps = 1e-12;
        var WtA = new double[k * m]; var WtW = new double[k * k]; var AHt = new double[n * k]; var HHt = new double[k * k];
        for (int it = 0; it < iterations; it++)
        {
            ct.ThrowIfCancellationRequested();
            // H ← H ⊙ (WᵀA) / (WᵀW H)
            Array.Clear(WtA); Array.Clear(WtW);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < k; c++)
                {
                    double w = W[i * k + c];
                    for (int j = 0; j < m; j++) WtA[c * m + j] += w * A[i * m + j];
                    for (int c2 = 0; c2 < k; c2++) WtW[c * k + c2] += w * W[i * k + c2];
                }
            for (int c = 0; c < k; c++)
                for (int j = 0; j < m; j++)
                {
                    double denom = 0;
                    for (int c2 = 0; c2 < k; c2++) denom += WtW[c * k + c2] * H[c2 * m + j];
                    H[c * m + j] *= WtA[c * m + j] / (denom + eps);
                }
            // W ← W ⊙ (A Hᵀ) / (W H Hᵀ)
            Array.Clear(AHt); Array.Clear(HHt);
            for (int c = 0; c < k; c++)
                for (int j = 0; j < m; j++)
                {
                    double h = H[c * m + j];
                    for (int i = 0; i < n; i++) AHt[i * k + c] += A[i * m + j] * h;
                    for (int c2 = 0; c2 < k; c2++) HHt[c * k + c2] += h * H[c2 * m + j];
                }
            for (int i = 0; i < n; i++)
                for (int c = 0; c < k; c++)
                {
                    double denom = 0;
                    for (int c2 = 0; c2 < k; c2++) denom += W[i * k + c2] * HHt[c2 * k + c];
                    W[i * k + c] *= AHt[i * k + c] / (denom + eps);
                }
        }
        double err = 0, norm = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double r = 0;
                for (int c = 0; c < k; c++) r += W[i * k + c] * H[c * m + j];
                err += (A[i * m + j] - r) * (A[i * m + j] - r);
                norm += A[i * m + j] * A[i * m + j];
            }
        return new NmfResult(n, m, k, Array.ConvertAll(W, v => (float)v), Array.ConvertAll(H, v => (float)v), norm > 0 ? (float)Math.Sqrt(err / norm) : 0);
    }
}

/// <summary>W [n, k] (token × component), H [k, m] (component × neuron), and ‖A − WH‖/‖A‖.</summary>
public sealed record NmfResult(int Rows, int Cols, int Components, float[] W, float[] H, float RelativeError);
