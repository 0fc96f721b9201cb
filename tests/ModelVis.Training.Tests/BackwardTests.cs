using ModelVis.Autodiff;
using ModelVis.Training.Llama;
using Xunit;
using static ModelVis.Autodiff.Tests.GradientCheck;

namespace ModelVis.Training.Tests;

/// <summary>The training Llama's whole-model gradients against finite differences, and float against float64.</summary>
public class BackwardTests
{
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
