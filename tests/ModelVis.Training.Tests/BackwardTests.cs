using ModelVis.Training.Autodiff;
using ModelVis.Training.Llama;
using ModelVis.Training.Ops;
using Xunit;
using static ModelVis.Training.Tests.GradientCheck;

namespace ModelVis.Training.Tests;

/// <summary>Every op's backward against central finite differences in float64, on small random inputs.</summary>
public class BackwardTests
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

    [Fact]
    public void Whole_llama_model_loss_with_respect_to_every_parameter()
    {
        var config = new LlamaConfig { VocabSize = 13, HiddenSize = 8, Layers = 2, Heads = 4, KvHeads = 2, IntermediateSize = 12, MaxPositions = 16 };
        var model = LlamaModel<double>.Initialize(config, seed: 3);
        // Larger weights than training's init, so every path carries a visible gradient.
        var rng = new Random(11);
        foreach (var p in model.Parameters)
            for (int i = 0; i < p.Length; i++) p.Data[i] += 0.3 * (2 * rng.NextDouble() - 1);
        int batch = 2, seq = 5;
        int[] ids = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(13)).ToArray();
        int[] targets = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(13)).ToArray();
        Check(t => model.Loss(t, ids, targets, batch, seq), model.Parameters.ToArray(), maxPerInput: 24);
    }

    /// <summary>
    /// Float training computes the same gradients as the float64 path at training sizes (vector blocks, threads):
    /// guards the kernels' float paths and thread safety, which the small float64 checks above do not reach.
    /// </summary>
    [Fact]
    public void Float_gradients_match_float64_at_training_sizes()
    {
        var config = new LlamaConfig { VocabSize = 96, HiddenSize = 64, Layers = 2, Heads = 4, KvHeads = 2, IntermediateSize = 96, MaxPositions = 64 };
        var mf = LlamaModel<float>.Initialize(config, 1);
        var md = LlamaModel<double>.Initialize(config, 1);
        var rng = new Random(3);
        for (int p = 0; p < mf.Parameters.Count; p++)
            for (int i = 0; i < mf.Parameters[p].Length; i++)
            {
                float v = (float)(0.3 * (2 * rng.NextDouble() - 1));
                mf.Parameters[p].Data[i] = v;
                md.Parameters[p].Data[i] = v;
            }
        int batch = 4, seq = 48;
        var ids = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(96)).ToArray();
        var targets = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(96)).ToArray();
        var tf = new Tape<float>(); var lf = mf.Loss(tf, ids, targets, batch, seq); tf.Backward(lf);
        var td = new Tape<double>(); var ld = md.Loss(td, ids, targets, batch, seq); td.Backward(ld);
        Assert.Equal(ld.Data[0], lf.Data[0], 4);
        for (int p = 0; p < mf.Parameters.Count; p++)
        {
            double scale = md.Parameters[p].Grad.Max(Math.Abs);
            for (int i = 0; i < mf.Parameters[p].Length; i++)
                Assert.True(Math.Abs(mf.Parameters[p].Grad[i] - md.Parameters[p].Grad[i]) <= 1e-3 * scale + 1e-7,
                    $"{mf.Parameters[p].Name}[{i}]: float {mf.Parameters[p].Grad[i]} vs double {md.Parameters[p].Grad[i]}");
        }
    }
}
