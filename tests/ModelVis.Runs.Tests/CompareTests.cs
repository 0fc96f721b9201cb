using ModelVis.Checkpoints;
using ModelVis.Runs;
using ModelVis.Tests;

namespace ModelVis.Runs.Tests;

public class CompareTests
{
    [Fact]
    public void TwoSafetensors_RelativeChangeAndMaxDifference_SortedLargestFirst()
    {
        using var dir = new Fixtures.TempDir();
        float[] w = [3, 4, 0, 0];           // ‖w‖ = 5
        float[] w2 = [3, 4, 0, 1.5f];        // ‖w−w2‖ = 1.5 → 0.3
        float[] bias = [1, 1];              // ‖b‖ = √2
        float[] bias2 = [1, 1];             // unchanged
        float[] emb = [2, 0, 0, 0, 0, 0];    // ‖e‖ = 2
        float[] emb2 = [0, 0, 0, 0, 0, 2];   // ‖e−e2‖ = √8 → √2
        new SafetensorsWriter().Add("w", w, 2, 2).Add("b", bias, 2).Add("emb", emb, 3, 2).Add("only_a", [1f], 1).Add("shape", [1f, 2], 2).Save(dir.File("a.safetensors"));
        new SafetensorsWriter().Add("w", w2, 2, 2).Add("b", bias2, 2).Add("emb", emb2, 3, 2).Add("only_b", [1f], 1).Add("shape", [1f, 2, 3], 3).Save(dir.File("b.safetensors"));

        var r = CheckpointCompare.Compare(dir.File("a.safetensors"), dir.File("b.safetensors"));
        Assert.Equal(["emb", "w", "b"], r.Tensors.Select(t => t.Name));
        Assert.Equal(Math.Sqrt(2), r.Tensors[0].RelChange, 1e-12);
        Assert.Equal(2, r.Tensors[0].MaxAbsDiff);
        Assert.Equal(0.3, r.Tensors[1].RelChange, 1e-7);
        Assert.Equal(1.5, r.Tensors[1].MaxAbsDiff);
        Assert.Equal([2L, 2], r.Tensors[1].Shape);
        Assert.Equal(0, r.Tensors[2].RelChange);
        Assert.Equal(["only_a"], r.OnlyInA);
        Assert.Equal(["only_b"], r.OnlyInB);
        Assert.Contains(r.NotCompared, n => n.StartsWith("shape:"));
    }

    [Fact]
    public void LightningCheckpoint_AgainstAPerturbedCopy_WeightsOnlyAndSaidSo()
    {
        var ckptPath = Fixtures.Path_("runs", "lightning-mnist-mlp", "epoch=2-step=3930.ckpt");
        using var dir = new Fixtures.TempDir();
        var expected = new Dictionary<string, (double Rel, double Max)>();
        using (var ckpt = CheckpointLoader.Open(ckptPath))
        {
            var writer = new SafetensorsWriter();
            int k = 0;
            foreach (var t in ckpt.Tensors)
            {
                var a = ckpt.ReadFloats(t);
                var b = (float[])a.Clone();
                // Tensor k: element i moves by (k+1)·1e-3·((i % 7) − 3).
                for (int i = 0; i < b.Length; i++) b[i] += (k + 1) * 1e-3f * ((i % 7) - 3);
                double num = 0, den = 0, max = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    double d = (double)a[i] - b[i];
                    num += d * d;
                    den += (double)a[i] * a[i];
                    max = Math.Max(max, Math.Abs(d));
                }
                expected[t.Name] = (Math.Sqrt(num / den), max);
                writer.Add(t.Name, b, t.Shape);
                k++;
            }
            writer.Save(dir.File("perturbed.safetensors"));
        }
        var r = CheckpointCompare.Compare(ckptPath, dir.File("perturbed.safetensors"));
        // The MLP's weights and biases, not Adam's exp_avg / exp_avg_sq.
        Assert.Equal(expected.Keys.Order(), r.Tensors.Select(t => t.Name).Order());
        Assert.DoesNotContain(r.Tensors, t => t.Name.Contains("optimizer") || t.Name.Contains("exp_avg"));
        Assert.Contains(r.Notes, n => n.Contains("state_dict") && n.Contains("optimizer"));
        foreach (var t in r.Tensors)
        {
            Assert.Equal(expected[t.Name].Rel, t.RelChange, 1e-6);
            Assert.Equal(expected[t.Name].Max, t.MaxAbsDiff, 1e-6);
        }
        Assert.True(r.Tensors.Zip(r.Tensors.Skip(1)).All(p => p.First.RelChange >= p.Second.RelChange));
    }
}
