using ModelVis.Tensors;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>The kernels against plain double-precision loops, on every instruction-set path and on awkward sizes.</summary>
[Collection("kernel path")] // tests here switch MatMul.Path, which is global
public class KernelTests
{
    static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    public static TheoryData<KernelPath, int, int, int> MatMulShapes()
    {
        var data = new TheoryData<KernelPath, int, int, int>();
        foreach (var path in Enum.GetValues<KernelPath>())
            foreach (var (m, k, n) in new[] { (1, 1, 1), (7, 13, 33), (6, 64, 32), (13, 300, 70), (50, 520, 100), (97, 64, 200), (64, 300, 96) })
                data.Add(path, m, k, n);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(MatMulShapes))]
    public void Matmul_matches_a_naive_product(KernelPath path, int m, int k, int n)
    {
        Skip.If(path == KernelPath.Vector512 && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "no AVX-512 on this CPU");
        Skip.If(path == KernelPath.Vector256 && !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, "no AVX2 on this CPU");
        var saved = MatMul.Path;
        try
        {
            MatMul.Path = path;
            var a = Random(m * k, 1);
            var w = Random(n * k, 2);        // nn.Linear layout [n, k]
            var b = new float[k * n];        // the same B = wᵀ, row-major [k, n]
            for (int t = 0; t < k; t++) for (int j = 0; j < n; j++) b[t * n + j] = w[j * k + t];
            var bias = Random(n, 3);
            // B packed once, B row-major read in place, and wᵀ transposed panel by panel inside the product.
            foreach (var weight in new WeightMatrix[] { PackedMatrix.FromTransposed(w, n, k), new RowMajorMatrix(b, k, n), new TransposedMatrix(w, n, k) })
            {
                var linear = new Linear(weight, bias);
                var c = linear.Forward(a, m);
                var acc = new float[m * n];
                Array.Fill(acc, 5f);
                MatMul.Multiply(a, m, weight, acc, accumulate: true);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0;
                        for (int t = 0; t < k; t++) s += (double)a[i * k + t] * w[j * k + t];
                        Assert.True(Math.Abs(c[i * n + j] - (s + bias[j])) < 1e-4, $"{weight.GetType().Name}: C[{i},{j}] = {c[i * n + j]}, expected {s + bias[j]}");
                        Assert.True(Math.Abs(acc[i * n + j] - (s + 5)) < 1e-4, $"{weight.GetType().Name}: C[{i},{j}] += {acc[i * n + j] - 5}, expected {s}");
                    }
            }
        }
        finally { MatMul.Path = saved; }
    }

    [Fact]
    public void Packing_row_major_and_transposed_agree_and_columns_read_back()
    {
        int k = 37, n = 45;
        var b = Random(k * n, 4);
        var bt = new float[n * k];
        for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) bt[j * k + i] = b[i * n + j];
        var p1 = PackedMatrix.FromRowMajor(b, k, n);
        var p2 = PackedMatrix.FromTransposed(bt, n, k);
        var column = new float[k];
        for (int j = 0; j < n; j++)
        {
            p1.CopyColumn(j, column);
            Assert.Equal(bt.AsSpan(j * k, k).ToArray(), column);
            for (int i = 0; i < k; i++) Assert.Equal(p1[i, j], p2[i, j]);
            new RowMajorMatrix(b, k, n).CopyColumn(j, column);
            Assert.Equal(bt.AsSpan(j * k, k).ToArray(), column);
            new TransposedMatrix(bt, n, k).CopyColumn(j, column);
            Assert.Equal(bt.AsSpan(j * k, k).ToArray(), column);
        }
    }

    public static TheoryData<KernelPath, bool, int, int, int> AttentionShapes()
    {
        var data = new TheoryData<KernelPath, bool, int, int, int>();
        foreach (var path in Enum.GetValues<KernelPath>())
            foreach (var causal in new[] { true, false })
                foreach (var (n, heads, kv) in new[] { (1, 2, 1), (7, 4, 4), (45, 8, 2) })
                    data.Add(path, causal, n, heads, kv);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(AttentionShapes))]
    public void Fused_attention_matches_naive_attention(KernelPath path, bool causal, int n, int heads, int kvHeads)
    {
        Skip.If(path == KernelPath.Vector512 && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "no AVX-512 on this CPU");
        var saved = MatMul.Path;
        try
        {
            MatMul.Path = path;
            const int hd = 40;
            int width = (heads + 2 * kvHeads) * hd;
            var qkv = Random(n * width, 5);
            int[]? keyMask = n > 3 && !causal ? Enumerable.Range(0, n).Select(j => j % 3 == 2 ? 0 : 1).ToArray() : null;
            var mask = new AttentionMask(causal, keyMask);
            var ctx = new float[n * heads * hd];
            var probs = new float[heads * n * n];
            Attention.Compute(qkv, n, width, 0, heads * hd, (heads + kvHeads) * hd, heads, kvHeads, hd, MathF.Sqrt(hd), mask, ctx, probs);
            for (int h = 0; h < heads; h++)
            {
                int g = h / (heads / kvHeads);
                for (int i = 0; i < n; i++)
                {
                    var s = new double[n];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        if (!mask.Allows(i, j)) { s[j] = double.NegativeInfinity; continue; }
                        double dot = 0;
                        for (int d = 0; d < hd; d++) dot += (double)qkv[i * width + h * hd + d] * qkv[j * width + (heads + g) * hd + d];
                        s[j] = dot / Math.Sqrt(hd);
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int j = 0; j < n; j++)
                    {
                        double p = s[j] / sum, got = probs[(h * n + i) * n + j];
                        if (!mask.Allows(i, j)) Assert.Equal(0f, (float)got);
                        else Assert.True(Math.Abs(got - p) < 1e-5, $"P[{h},{i},{j}] = {got}, expected {p}");
                    }
                    for (int d = 0; d < hd; d++)
                    {
                        double c = 0;
                        for (int j = 0; j < n; j++) c += s[j] / sum * qkv[j * width + (heads + kvHeads + g) * hd + d];
                        Assert.True(Math.Abs(ctx[i * heads * hd + h * hd + d] - c) < 1e-5);
                    }
                }
            }
        }
        finally { MatMul.Path = saved; }
    }

    [Fact]
    public void Norms_and_softmax_match_their_definitions()
    {
        int rows = 3, dim = 37;
        var x = Random(rows * dim, 6);
        var g = Random(dim, 7);
        var b = Random(dim, 8);
        var ln = new float[rows * dim];
        var rms = new float[rows * dim];
        Norms.LayerNorm(x, rows, dim, g, b, 1e-5f, ln);
        Norms.RmsNorm(x, rows, dim, g, 1e-5f, rms);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Skip(r * dim).Take(dim).Select(v => (double)v).ToArray();
            double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average(), ms = row.Select(v => v * v).Average();
            for (int i = 0; i < dim; i++)
            {
                Assert.Equal((row[i] - mean) / Math.Sqrt(variance + 1e-5) * g[i] + b[i], ln[r * dim + i], 5);
                Assert.Equal(row[i] / Math.Sqrt(ms + 1e-5) * g[i], rms[r * dim + i], 5);
            }
        }
        var s = new float[] { 1, 2, 3, -1000 };
        Softmax.InPlace(s);
        Assert.Equal(1.0, s.Sum(), 6);
        Assert.Equal(0f, s[3]);
        Assert.Equal(Math.Exp(1) / (Math.Exp(1) + Math.Exp(2) + Math.Exp(3)), s[0], 6);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.52049987781304654)]
    [InlineData(-1.0, -0.84270079294971487)]
    [InlineData(2.4, 0.99931148610335)]
    [InlineData(2.6, 0.99976396558347)]
    [InlineData(4.0, 0.99999998458274)]
    public void Erf_is_accurate(double x, double expected) => Assert.Equal(expected, Activations.Erf(x), 12);

    [Fact]
    public void Activations_match_their_formulas()
    {
        var x = Enumerable.Range(-40, 81).Select(i => i / 8f).ToArray();
        var exact = (float[])x.Clone(); Activations.GeluExact(exact);
        var tanh = (float[])x.Clone(); Activations.GeluTanh(tanh);
        var silu = (float[])x.Clone(); Activations.Silu(silu);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            Assert.True(Math.Abs(0.5 * v * (1 + Activations.Erf(v / Math.Sqrt(2))) - exact[i]) < 1e-6);
            Assert.True(Math.Abs(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))) - tanh[i]) < 2e-6);
            Assert.True(Math.Abs(v / (1 + Math.Exp(-v)) - silu[i]) < 2e-6);
        }
    }

    [Fact]
    public void Rotary_rotates_pairs_by_position_times_frequency()
    {
        var rotary = new Rotary(8, 10000, 128);
        var (cos, sin) = rotary.Tables(3);
        var x = Random(3 * 8, 9);
        var y = (float[])x.Clone();
        rotary.Apply(y, 3, 8, 0, 1, cos, sin);
        for (int p = 0; p < 3; p++)
            for (int j = 0; j < 4; j++)
            {
                double angle = p * Math.Pow(10000, -2.0 * j / 8);
                double x1 = x[p * 8 + j], x2 = x[p * 8 + j + 4];
                Assert.Equal(x1 * Math.Cos(angle) - x2 * Math.Sin(angle), y[p * 8 + j], 5);
                Assert.Equal(x2 * Math.Cos(angle) + x1 * Math.Sin(angle), y[p * 8 + j + 4], 5);
            }
    }

    [Fact]
    public void Rope_scaling_types_change_frequencies_as_documented()
    {
        var plain = new Rotary(64, 500000, 8192).Tables(2);
        var linear = new Rotary(64, 500000, 8192, new RopeScaling("linear", Factor: 2)).Tables(2);
        var llama3 = new Rotary(64, 500000, 131072, new RopeScaling("llama3", Factor: 8, OriginalMaxPositions: 8192, LowFreqFactor: 1, HighFreqFactor: 4)).Tables(2);
        var yarn = new Rotary(64, 10000, 4096, new RopeScaling("yarn", Factor: 4, OriginalMaxPositions: 4096)).Tables(2);
        // position 1: sin(angle) ≈ angle = inverse frequency
        Assert.Equal(plain.Sin[64 + 31] / 2, linear.Sin[64 + 31], 6);                // linear halves every frequency
        Assert.Equal(plain.Sin[64 + 0], llama3.Sin[64 + 0], 6);                      // llama3 keeps the highest frequency
        Assert.Equal(plain.Sin[64 + 31] / 8, llama3.Sin[64 + 31], 6);                // and divides the lowest by the factor
        Assert.Equal(0.1 * Math.Log(4) + 1, yarn.Cos[0], 5);                         // yarn scales cos/sin by its attention factor
        Assert.Throws<ArgumentException>(() => new Rotary(64, 10000, 4096, new RopeScaling("longrope"))); // longrope needs its original context and factors
    }

    [Fact]
    public void Longrope_divides_by_short_factors_within_the_original_context_and_long_ones_beyond()
    {
        double[] shortF = [1, 2], longF = [3, 5];
        var rotary = new Rotary(4, 10000, 128, new RopeScaling("longrope", Factor: 4, OriginalMaxPositions: 32, ShortFactor: shortF, LongFactor: longF));
        double attention = Math.Sqrt(1 + Math.Log(4) / Math.Log(32));
        foreach (var (n, factors) in new[] { (32, shortF), (33, longF) })
        {
            var (cos, sin) = rotary.Tables(n);
            for (int p = 0; p < n; p += 7)
                for (int j = 0; j < 2; j++)
                {
                    double angle = p / (factors[j] * Math.Pow(10000, 2.0 * j / 4));
                    Assert.Equal(Math.Cos(angle) * attention, cos[p * 4 + j], 4);
                    Assert.Equal(Math.Sin(angle) * attention, sin[p * 4 + j + 2], 4);
                }
        }
        Assert.Throws<ArgumentException>(() => new Rotary(4, 10000, 128, new RopeScaling("longrope", OriginalMaxPositions: 32, ShortFactor: [1], LongFactor: [1, 2])));
    }

    [Fact]
    public void Partial_rotary_turns_the_first_channels_of_strided_heads_and_passes_the_rest()
    {
        // Two heads of 6 channels, 12 apart (GPT-NeoX's [q_h | k_h | v_h] with q only), rotary on 4 channels.
        const int rows = 3, stride = 24, headStride = 12;
        var rotary = new Rotary(4, 10000, 128);
        var (cos, sin) = rotary.Tables(rows);
        var x = Random(rows * stride, 10);
        var y = (float[])x.Clone();
        rotary.Apply(y, rows, stride, 0, 2, cos, sin, headStride);
        for (int p = 0; p < rows; p++)
            for (int h = 0; h < 2; h++)
            {
                int o = p * stride + h * headStride;
                for (int j = 0; j < 2; j++)
                {
                    double angle = p * Math.Pow(10000, -2.0 * j / 4), x1 = x[o + j], x2 = x[o + j + 2];
                    Assert.Equal(x1 * Math.Cos(angle) - x2 * Math.Sin(angle), y[o + j], 5);
                    Assert.Equal(x2 * Math.Cos(angle) + x1 * Math.Sin(angle), y[o + j + 2], 5);
                }
                for (int c = 4; c < headStride; c++) Assert.Equal(x[o + c], y[o + c]);   // channels 4..5 and the gap untouched
            }
    }

    [Fact]
    public void Soft_cap_is_cap_times_tanh_of_x_over_cap()
    {
        var x = new float[] { -1000, -30, -1, 0, 0.5f, 7, 49, 1e6f };
        var y = (float[])x.Clone();
        Activations.SoftCap(y, 50);
        for (int i = 0; i < x.Length; i++) Assert.Equal(50 * Math.Tanh(x[i] / 50.0), y[i], 4);
    }

    /// <summary>
    /// Attention with Gemma 2's soft-capped scores and sliding window, on GPT-NeoX's per-head [q_h | k_h | v_h] layout,
    /// against a double-precision loop: s = cap·tanh((q·k / divisor) / cap), masked, softmaxed.
    /// </summary>
    [Theory]
    [InlineData(1, 0f, 0)]
    [InlineData(9, 3f, 0)]
    [InlineData(40, 2f, 5)]
    [InlineData(40, 0f, 16)]
    public void Attention_soft_cap_sliding_window_and_per_head_layout_match_naive(int n, float cap, int window)
    {
        const int heads = 3, hd = 8, stride = 3 * hd, width = heads * stride;
        var qkv = Random(n * width, 11);
        for (int i = 0; i < qkv.Length; i++) qkv[i] *= 3;   // scores large enough for the cap to bite
        var mask = new AttentionMask(true, null, window);
        var ctx = new float[n * heads * hd];
        var probs = new float[heads * n * n];
        Attention.Compute(qkv, n, width, 0, hd, 2 * hd, heads, heads, hd, MathF.Sqrt(hd), mask, ctx, probs, cap, stride);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
            {
                var s = new double[n];
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < n; j++)
                {
                    if (!mask.Allows(i, j)) { s[j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += (double)qkv[i * width + h * stride + d] * qkv[j * width + h * stride + hd + d];
                    s[j] = dot / Math.Sqrt(hd);
                    if (cap > 0) s[j] = cap * Math.Tanh(s[j] / cap);
                    max = Math.Max(max, s[j]);
                }
                for (int j = 0; j < n; j++) sum += s[j] = Math.Exp(s[j] - max);
                for (int j = 0; j < n; j++)
                {
                    float got = probs[(h * n + i) * n + j];
                    if (!mask.Allows(i, j)) Assert.Equal(0f, got);
                    else Assert.True(Math.Abs(got - s[j] / sum) < 1e-5, $"P[{h},{i},{j}] = {got}, expected {s[j] / sum}");
                }
                for (int d = 0; d < hd; d++)
                {
                    double c = 0;
                    for (int j = 0; j < n; j++) c += s[j] / sum * qkv[j * width + h * stride + 2 * hd + d];
                    Assert.True(Math.Abs(ctx[i * heads * hd + h * hd + d] - c) < 1e-5);
                }
            }
    }

    /// <summary>
    /// Cross-attention (queries from one sequence, keys and values from another of a different length, padded keys)
    /// and T5's additive relative bias (one value per head and offset key − query), against a double-precision loop:
    /// s = q·k / divisor + bias[h, j − i + nq − 1], masked, softmaxed.
    /// </summary>
    [Theory]
    [InlineData(1, 1, false, false)]
    [InlineData(5, 9, false, true)]
    [InlineData(13, 40, true, true)]
    [InlineData(40, 7, true, false)]
    [InlineData(12, 12, true, false)]
    public void Cross_attention_and_relative_bias_match_naive(int nq, int nk, bool withBias, bool padded)
    {
        const int heads = 4, hd = 24, inner = heads * hd;
        var q = Random(nq * inner, 21);
        var kv = Random(nk * 2 * inner, 22);
        for (int i = 0; i < q.Length; i++) q[i] *= 2;
        var bias = withBias ? Random(heads * (nq + nk - 1), 23) : null;
        if (bias is not null) for (int i = 0; i < bias.Length; i++) bias[i] *= 4;
        int[]? keyMask = padded ? Enumerable.Range(0, nk).Select(j => j >= nk - 2 && nk > 2 ? 0 : 1).ToArray() : null;
        // A square self-attention with a bias is the decoder's case: causal there, so the offsets above the diagonal are unused.
        var mask = new AttentionMask(nq == nk && withBias, keyMask);
        var ctx = new float[nq * inner];
        var probs = new float[heads * nq * nk];
        float divisor = withBias ? 1f : MathF.Sqrt(hd);
        Attention.Compute(q, nq, inner, 0, kv, nk, 2 * inner, 0, inner, heads, heads, hd, divisor, mask, ctx, probs, bias);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < nq; i++)
            {
                var s = new double[nk];
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < nk; j++)
                {
                    if (!mask.Allows(i, j)) { s[j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += (double)q[i * inner + h * hd + d] * kv[j * 2 * inner + h * hd + d];
                    s[j] = dot / divisor + (bias is null ? 0 : bias[h * (nq + nk - 1) + j - i + nq - 1]);
                    max = Math.Max(max, s[j]);
                }
                for (int j = 0; j < nk; j++) sum += s[j] = Math.Exp(s[j] - max);
                for (int j = 0; j < nk; j++)
                {
                    float got = probs[(h * nq + i) * nk + j];
                    if (!mask.Allows(i, j)) Assert.Equal(0f, got);
                    else Assert.True(Math.Abs(got - s[j] / sum) < 1e-5, $"P[{h},{i},{j}] = {got}, expected {s[j] / sum}");
                }
                for (int d = 0; d < hd; d++)
                {
                    double c = 0;
                    for (int j = 0; j < nk; j++) c += s[j] / sum * kv[j * 2 * inner + inner + h * hd + d];
                    Assert.True(Math.Abs(ctx[i * inner + h * hd + d] - c) < 1e-5, $"context[{i},{h},{d}] = {ctx[i * inner + h * hd + d]}, expected {c}");
                }
            }
    }
}

/// <summary>
/// MatMul.Path is global: while these tests switch it, a forward pass in another class would mix paths and
/// differ in the last bits from one run alone, which breaks the exact-equality tests. So this collection runs
/// by itself, after the parallel ones.
/// </summary>
[CollectionDefinition("kernel path", DisableParallelization = true)]
public sealed class KernelPathCollection;
