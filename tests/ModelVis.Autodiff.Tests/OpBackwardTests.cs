using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Tensors;
using Xunit;
using static ModelVis.Autodiff.Tests.GradientCheck;

namespace ModelVis.Autodiff.Tests;

/// <summary>Every op's backward against central finite differences in float64, on small random inputs.</summary>
public class OpBackwardTests
{
    static Var<double> Probe(Tape<double> t, Var<double> y, int seed) => t.WeightedSum(y, Weights(new Random(seed), y.Length));

    [Fact]
    public void Linear_without_and_with_bias()
    {
        var rng = new Random(1);
        // Sizes straddle the kernel's 4-row blocks and vector widths so every code path is covered.
        var x = Random(rng, "x", 1, 7, 19);
        var w = Random(rng, "w", 1, 21, 19);
        var b = Random(rng, "b", 1, 21);
        Check(t => Probe(t, t.Linear(x, w), 2), [x, w]);
        Check(t => Probe(t, t.Linear(x, w, b), 3), [x, w, b]);
    }

    [Fact]
    public void MatMul()
    {
        var rng = new Random(2);
        var a = Random(rng, "a", 1, 9, 5);
        var b = Random(rng, "b", 1, 5, 17);
        Check(t => Probe(t, t.MatMul(a, b), 4), [a, b]);
    }

    [Fact]
    public void Embedding_with_repeated_ids()
    {
        var rng = new Random(3);
        var table = Random(rng, "table", 1, 11, 6);
        int[] ids = [3, 0, 3, 10, 7, 3];
        Check(t => Probe(t, t.Embedding(table, ids), 5), [table]);
    }

    [Fact]
    public void RmsNorm()
    {
        var rng = new Random(4);
        var x = Random(rng, "x", 2, 5, 12);
        var w = Random(rng, "w", 1, 12);
        Check(t => Probe(t, t.RmsNorm(x, w, 1e-5), 6), [x, w]);
    }

    [Fact]
    public void Head_rms_norm_normalises_each_head_with_a_shared_gain()
    {
        var rng = new Random(40);
        var x = Random(rng, "x", 2, 5, 3 * 8);   // 5 rows of 3 heads of 8
        var w = Random(rng, "w", 1, 8);
        Check(t => Probe(t, t.HeadRmsNorm(x, w, 1e-6), 41), [x, w]);
        // Each head on its own is the row norm of that head's 8 channels.
        var y = new Tape<double> { Recording = false }.HeadRmsNorm(x, w, 1e-6);
        for (int r = 0; r < 5; r++)
            for (int h = 0; h < 3; h++)
            {
                var head = new Var<double>(x.Data[(r * 24 + h * 8)..(r * 24 + h * 8 + 8)], [1, 8]);
                var expected = new Tape<double> { Recording = false }.RmsNorm(head, w, 1e-6).Data;
                for (int j = 0; j < 8; j++) Assert.Equal(expected[j], y.Data[r * 24 + h * 8 + j], 15);
            }
    }

    [Fact]
    public void Scale_by_a_constant()
    {
        var x = Random(new Random(42), "x", 2, 4, 6);
        Check(t => Probe(t, t.Scale(x, 8.0), 43), [x]);
    }

    [Fact]
    public void LayerNorm()
    {
        var rng = new Random(5);
        var x = Random(rng, "x", 2, 5, 12);
        var w = Random(rng, "w", 1, 12);
        var b = Random(rng, "b", 1, 12);
        Check(t => Probe(t, t.LayerNorm(x, w, b, 1e-5), 7), [x, w, b]);
    }

    [Fact]
    public void Rotary_rotate_half()
    {
        var rng = new Random(6);
        var x = Random(rng, "x", 1, 2 * 5, 3 * 8);   // batch 2, seq 5, 3 heads of 8
        Check(t => Probe(t, t.Rotary(x, 5, 8, 10000), 8), [x]);
    }

    [Fact]
    public void Rotary_matches_the_rotate_half_formula()
    {
        // x' = x·cos + rotate_half(x)·sin, angle = pos·θ^(−2j/d): position 3, head dim 4, j = 1 pairs dims 1 and 3.
        var y = new Tape<double>().Rotary(new Var<double>(new double[4 * 4], [4, 4]), 4, 4, 10000);
        Assert.All(y.Data, v => Assert.Equal(0, v));
        var one = new double[16];
        one[3 * 4 + 1] = 1; one[3 * 4 + 3] = 2;
        var r = new Tape<double>().Rotary(new Var<double>(one, [4, 4]), 4, 4, 10000);
        double angle = 3 * Math.Pow(10000, -2.0 * 1 / 4);
        Assert.Equal(1 * Math.Cos(angle) - 2 * Math.Sin(angle), r.Data[3 * 4 + 1], 12);
        Assert.Equal(2 * Math.Cos(angle) + 1 * Math.Sin(angle), r.Data[3 * 4 + 3], 12);
    }

    [Theory]
    [InlineData(4, 4)]   // multi-head
    [InlineData(4, 2)]   // grouped-query: two query heads per kv head
    [InlineData(4, 1)]   // multi-query
    public void Causal_attention(int heads, int kvHeads)
    {
        var rng = new Random(7 + kvHeads);
        int batch = 2, seq = 6, d = 4;
        var q = Random(rng, "q", 1.5, batch * seq, heads * d);
        var k = Random(rng, "k", 1.5, batch * seq, kvHeads * d);
        var v = Random(rng, "v", 1, batch * seq, kvHeads * d);
        var shape = new AttentionShape(batch, seq, heads, kvHeads, d);
        Check(t => Probe(t, t.CausalAttention(q, k, v, shape), 9), [q, k, v]);
    }

    public static TheoryData<string> Masks => new() { "bidirectional with padding", "sliding window", "soft-capped", "all keys padded" };

    static (AttentionMask Mask, double Cap) MaskCase(string name) => name switch
    {
        "bidirectional with padding" => (new AttentionMask(false, [1, 1, 0, 1, 1, 0]), 0),
        "sliding window" => (new AttentionMask(true, SlidingWindow: 3), 0),
        "soft-capped" => (new AttentionMask(true), 2.0),
        _ => (new AttentionMask(true, [0, 0, 0, 0, 0, 0]), 0),
    };

    [Theory, MemberData(nameof(Masks))]
    public void Masked_attention(string name)
    {
        var (mask, cap) = MaskCase(name);
        var rng = new Random(21);
        int batch = 2, seq = 6, d = 4, heads = 4, kvHeads = 2;
        var q = Random(rng, "q", 1.5, batch * seq, heads * d);
        var k = Random(rng, "k", 1.5, batch * seq, kvHeads * d);
        var v = Random(rng, "v", 1, batch * seq, kvHeads * d);
        var shape = new AttentionShape(batch, seq, heads, kvHeads, d);
        Check(t => Probe(t, t.Attention(q, k, v, shape, mask, 1.7, cap), 22), [q, k, v]);
    }

    /// <summary>The float forward is the inference engine's attention (same mask rules, soft-cap and scale), to float rounding.</summary>
    [Theory, MemberData(nameof(Masks))]
    public void Masked_attention_forward_is_the_engines(string name)
    {
        var (mask, cap) = MaskCase(name);
        var rng = new Random(23);
        int seq = 6, d = 4, heads = 4, kvHeads = 2, width = (heads + 2 * kvHeads) * d;
        var qkv = Enumerable.Range(0, seq * width).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        float[] Columns(int from, int count) => Enumerable.Range(0, seq).SelectMany(r => qkv.Skip(r * width + from).Take(count)).ToArray();
        var q = new Var<float>(Columns(0, heads * d), [seq, heads * d]);
        var k = new Var<float>(Columns(heads * d, kvHeads * d), [seq, kvHeads * d]);
        var v = new Var<float>(Columns((heads + kvHeads) * d, kvHeads * d), [seq, kvHeads * d]);
        var ours = new Tape<float> { Recording = false }.Attention(q, k, v, new AttentionShape(1, seq, heads, kvHeads, d), mask, 1.7, cap);
        var engine = new float[seq * heads * d];
        Attention.Compute(qkv, seq, width, 0, heads * d, (heads + kvHeads) * d, heads, kvHeads, d, 1.7f, mask, engine, null, (float)cap);
        for (int i = 0; i < engine.Length; i++) Assert.True(Math.Abs(engine[i] - ours.Data[i]) <= 1e-5f, $"{name}[{i}]: engine {engine[i]} vs tape {ours.Data[i]}");
    }

    /// <summary>T5's attention: decoder queries (5) over encoder keys (7) with padding, and causal self-attention, each with a relative position bias.</summary>
    [Theory]
    [InlineData(5, 7, false)]   // cross-attention over a padded encoder
    [InlineData(6, 6, true)]    // causal self-attention
    public void Attention_with_a_relative_bias_over_keys_of_their_own_length(int queries, int keys, bool causal)
    {
        var rng = new Random(44 + keys);
        int batch = 2, d = 4, heads = 3;
        var q = Random(rng, "q", 1.5, batch * queries, heads * d);
        var k = Random(rng, "k", 1.5, batch * keys, heads * d);
        var v = Random(rng, "v", 1, batch * keys, heads * d);
        var bias = Enumerable.Range(0, heads * (queries + keys - 1)).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        var mask = causal ? new AttentionMask(true) : new AttentionMask(false, [1, 1, 1, 0, 1, 1, 0]);
        var shape = new AttentionShape(batch, queries, heads, heads, d);
        Check(t => Probe(t, t.Attention(q, k, v, shape, keys, mask, 1, bias), 45), [q, k, v]);

        // The float forward against the engine's cross-attention overload, on the first batch entry.
        float[] First(Var<double> x, int rows) => [.. x.Data.Take(rows * heads * d).Select(z => (float)z)];
        var qf = First(q, queries);
        float[] kv = [.. Enumerable.Range(0, keys).SelectMany(r => First(k, keys).Skip(r * heads * d).Take(heads * d).Concat(First(v, keys).Skip(r * heads * d).Take(heads * d)))];
        var ours = new Tape<float> { Recording = false }.Attention(new Var<float>(qf, [queries, heads * d]),
            new Var<float>(First(k, keys), [keys, heads * d]), new Var<float>(First(v, keys), [keys, heads * d]),
            shape with { Batch = 1 }, keys, mask, 1, bias);
        var engine = new float[queries * heads * d];
        Attention.Compute(qf, queries, heads * d, 0, kv, keys, 2 * heads * d, 0, heads * d, heads, heads, d, 1f, mask, engine, null, bias);
        for (int i = 0; i < engine.Length; i++) Assert.True(Math.Abs(engine[i] - ours.Data[i]) <= 1e-5f, $"[{i}]: engine {engine[i]} vs tape {ours.Data[i]}");
    }

    [Fact]
    public void Rotary_with_the_engines_tables_partial_rotation()
    {
        // Four of each head's eight channels rotate (partial rotary, as GPT-NeoX and Phi); llama3-style scaling in the tables.
        var rotary = new Rotary(4, 500, 64, new RopeScaling("llama3", 8, OriginalMaxPositions: 16, LowFreqFactor: 1, HighFreqFactor: 4));
        var (cos, sin) = rotary.Tables(5);
        var rng = new Random(24);
        var x = Random(rng, "x", 1, 2 * 5, 3 * 8);
        Check(t => Probe(t, t.Rotary(x, 5, 8, cos, sin), 25), [x]);

        var xf = Enumerable.Range(0, 5 * 24).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        var ours = new Tape<float> { Recording = false }.Rotary(new Var<float>(xf, [5, 24]), 5, 8, cos, sin);
        var engine = (float[])xf.Clone();
        rotary.Apply(engine, 5, 24, 0, 3, cos, sin, 8);
        Assert.Equal(engine, ours.Data);
    }

    [Fact]
    public void Rows_added_over_a_batch_and_soft_cap()
    {
        var rng = new Random(26);
        var x = Random(rng, "x", 3, 3 * 4, 5);
        var rows = Random(rng, "rows", 1, 4, 5);
        var bias = Random(rng, "bias", 1, 1, 5);
        Check(t => Probe(t, t.AddRows(x, rows), 27), [x, rows]);
        Check(t => Probe(t, t.AddRows(x, bias), 28), [x, bias]);
        Check(t => Probe(t, t.SoftCap(x, 2.5), 29), [x]);
    }

    [Fact]
    public void Causal_attention_is_causal_and_rows_sum_to_one()
    {
        var rng = new Random(8);
        var shape = new AttentionShape(1, 5, 2, 1, 4);
        var q = Random(rng, "q", 1, 5, 8); var k = Random(rng, "k", 1, 5, 4); var v = Random(rng, "v", 1, 5, 4);
        var probs = new List<double[]>();
        new Tape<double> { Recording = false }.CausalAttention(q, k, v, shape, probs);
        var p = probs[0];
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 5; t++)
            {
                double sum = 0;
                for (int j = 0; j < 5; j++)
                {
                    double x = p[(h * 5 + t) * 5 + j];
                    if (j > t) Assert.Equal(0.0, x);
                    sum += x;
                }
                Assert.Equal(1.0, sum, 12);
            }
    }

    [Fact]
    public void Activations_and_elementwise()
    {
        var rng = new Random(9);
        var a = Random(rng, "a", 3, 4, 7);
        var b = Random(rng, "b", 3, 4, 7);
        Check(t => Probe(t, t.Silu(a), 10), [a]);
        Check(t => Probe(t, t.SiluGate(a, b), 11), [a, b]);
        Check(t => Probe(t, t.Gelu(a), 12), [a]);
        Check(t => Probe(t, t.GeluTanh(a), 13), [a]);
        Check(t => Probe(t, t.Add(a, b), 14), [a, b]);
        Check(t => Probe(t, t.Mul(a, b), 15), [a, b]);
    }

    [Fact]
    public void Gelu_matches_known_values()
    {
        // Φ(1) = 0.841344746068543, Φ(−2) = 0.0227501319481792, Φ(4) = 0.999968328758167
        Assert.Equal(0.841344746068543, ElementwiseOps.NormalCdf(1), 13);
        Assert.Equal(0.0227501319481792, ElementwiseOps.NormalCdf(-2), 13);
        Assert.Equal(0.999968328758167, ElementwiseOps.NormalCdf(4), 13);
        Assert.Equal(1.0 - 0.999968328758167, ElementwiseOps.NormalCdf(-4), 13);
    }

    [Fact]
    public void Cross_entropy_with_an_ignored_target()
    {
        var rng = new Random(10);
        var logits = Random(rng, "logits", 3, 5, 9);
        int[] targets = [2, 8, LossOps.Ignore, 0, 4];
        Check(t => t.CrossEntropy(logits, targets), [logits]);
        // The value itself: mean over the 4 counted rows of logsumexp − logit[target].
        double expected = 0;
        foreach (var i in new[] { 0, 1, 3, 4 })
        {
            var row = logits.Data.Skip(i * 9).Take(9).ToArray();
            double m = row.Max();
            expected += m + Math.Log(row.Sum(z => Math.Exp(z - m))) - row[targets[i]];
        }
        Assert.Equal(expected / 4, new Tape<double>().CrossEntropy(logits, targets).Data[0], 12);
    }
}
