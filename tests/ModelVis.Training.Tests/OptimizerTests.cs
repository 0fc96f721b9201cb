using ModelVis.Tensors;
using ModelVis.Autodiff;
using ModelVis.Training.Llama;
using ModelVis.Autodiff.Optim;
using Xunit;

namespace ModelVis.Training.Tests;

public class OptimizerTests
{
    [Fact]
    public void Schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var s = new LearningRateSchedule(1.0, WarmupSteps: 10, TotalSteps: 110, MinFraction: 0.1);
        Assert.Equal(0.1, s.At(0), 12);
        Assert.Equal(0.5, s.At(4), 12);
        Assert.Equal(1.0, s.At(9), 12);
        Assert.Equal(1.0, s.At(10), 12);
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 50.0 / 99)), s.At(60), 12);
        Assert.Equal(0.1, s.At(109), 12);
        for (int i = 11; i < 110; i++) Assert.True(s.At(i) <= s.At(i - 1));
    }

    [Fact]
    public void AdamW_decays_matrices_but_not_norms_or_embeddings()
    {
        var model = LlamaModel<float>.Initialize(new LlamaConfig { VocabSize = 20, HiddenSize = 8, Layers = 1, Heads = 2, KvHeads = 1, IntermediateSize = 8 }, 1);
        var opt = new AdamW<float>(model.Parameters) { WeightDecay = 0.5 };
        var before = model.Parameters.Select(p => (float[])p.Data.Clone()).ToArray();
        foreach (var p in model.Parameters) Array.Clear(p.Grad);   // zero gradient: only the decay moves weights
        opt.Step(0.1);
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            bool decays = p.Name!.Contains("proj") || p.Name == "lm_head.weight";
            Assert.Equal(decays, opt.Decays(i));
            for (int j = 0; j < p.Length; j++)
                Assert.Equal(decays ? before[i][j] * (1 - 0.1f * 0.5f) : before[i][j], p.Data[j], 6);
        }
    }

    [Fact]
    public void AdamW_first_step_moves_each_weight_by_the_learning_rate_against_its_gradient_sign()
    {
        var w = new Var<double>([1.0, -2.0, 3.0], [3], true, "model.norm.weight");
        w.Grad[0] = 0.5; w.Grad[1] = -4; w.Grad[2] = 0;
        var opt = new AdamW<double>([w]);
        opt.Step(0.01);
        // m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε).
        Assert.Equal(1.0 - 0.01, w.Data[0], 9);
        Assert.Equal(-2.0 + 0.01, w.Data[1], 9);
        Assert.Equal(3.0, w.Data[2], 12);
    }

    [Fact]
    public void Clipping_scales_the_global_norm_down_and_leaves_small_gradients_alone()
    {
        var a = new Var<double>(new double[2], [2], true, "a");
        var b = new Var<double>(new double[1], [1], true, "b");
        a.Grad[0] = 3; a.Grad[1] = 0; b.Grad[0] = 4;   // norm 5
        Assert.Equal(5, GradientClipping.ClipGlobalNorm([a, b], 1.0), 12);
        Assert.Equal(0.6, a.Grad[0], 9);
        Assert.Equal(0.8, b.Grad[0], 9);
        Assert.Equal(1, GradientClipping.ClipGlobalNorm([a, b], 2.0), 9);
        Assert.Equal(0.6, a.Grad[0], 9);
    }

    [Fact]
    public void A_step_is_bit_identical_with_and_without_threads()
    {
        var config = new LlamaConfig { VocabSize = 64, HiddenSize = 32, Layers = 2, Heads = 4, KvHeads = 2, IntermediateSize = 48, MaxPositions = 64 };
        var rng = new Random(5);
        int batch = 4, seq = 32;
        var ids = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(64)).ToArray();
        var targets = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(64)).ToArray();
        float[][] Run(int threads)
        {
            int saved = Parallelism.Threads;
            Parallelism.Threads = threads;
            try { return Steps(); }
            finally { Parallelism.Threads = saved; }
        }
        float[][] Steps()
        {
            var m = LlamaModel<float>.Initialize(config, 9);
            var opt = new AdamW<float>(m.Parameters);
            for (int s = 0; s < 2; s++)
            {
                var tape = new Tape<float>();
                var loss = m.Loss(tape, ids, targets, batch, seq);
                opt.ZeroGrad();
                tape.Backward(loss);
                GradientClipping.ClipGlobalNorm(m.Parameters, 1.0);
                opt.Step(1e-2);
            }
            return m.Parameters.Select(p => p.Data).ToArray();
        }
        var one = Run(1);
        var many = Run(Math.Max(4, Environment.ProcessorCount));
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], many[i]);
    }
}
