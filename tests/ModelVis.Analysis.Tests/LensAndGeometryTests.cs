using System.Numerics.Tensors;
using ModelVis.Analysis;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Analysis.Tests;

public class LensAndGeometryTests
{
    [Fact]
    public void Logit_lens_on_stories260K_matches_the_reference_hidden_states_at_every_layer()
    {
        using var model = ModelLoader.Load(Fixtures.Model("stories260K"));
        using var reference = new SafetensorsFile(Fixtures.Expected("stories260K", "story_60_tokens.safetensors"));
        var ids = reference.ReadInt64s(reference.Get("input_ids")).Select(x => (int)x).ToArray();
        int L = model.Config.Layers, vocab = model.Config.Vocab, n = ids.Length;

        var refHidden = Enumerable.Range(0, L + 1).Select(k => reference.ReadFloats($"hidden_states.{k}")).ToList();
        var fromReference = LogitLens.Compute(model, refHidden, ids, 5);
        var capture = model.Forward(new ForwardInput(ids), new CaptureRequest(HiddenStates: true, Logits: false));
        var fromEngine = LogitLens.Compute(model, capture.HiddenStates!.Select(t => t.Data).ToList(), ids, 5);

        Assert.Equal(L + 1, fromEngine.Layers);
        for (int k = 0; k <= L; k++)
            for (int i = 0; i < n; i++)
            {
                var a = fromEngine.Top[k][i]; var b = fromReference.Top[k][i];
                Assert.Equal(b[0].Id, a[0].Id);
                for (int r = 0; r < 5; r++) Assert.True(Math.Abs(a[r].Prob - b[r].Prob) < 1e-3, $"layer {k} pos {i} rank {r}");
            }

        // By construction the last layer is the model's own output: softmax of the reference logits.
        var logits = reference.ReadFloats("logits");
        for (int i = 0; i < n; i++)
        {
            var p = new float[vocab];
            TensorPrimitives.SoftMax(logits.AsSpan(i * vocab, vocab), p);
            var top = LogitLens.TopK(p, 5);
            for (int r = 0; r < 5; r++)
            {
                Assert.Equal(top[r].Id, fromEngine.Top[L][i][r].Id);
                Assert.True(Math.Abs(top[r].Prob - fromEngine.Top[L][i][r].Prob) < 1e-4);
            }
            if (i + 1 < n)
            {
                int rank = p.Count(x => x > p[ids[i + 1]]);
                Assert.Equal(rank, fromEngine.NextTokenRank[L][i]);
            }
        }
        Assert.Equal(-1, fromEngine.NextTokenRank[0][n - 1]);
    }

    [Fact]
    public void TopK_orders_by_probability_then_id()
    {
        var top = LogitLens.TopK([0.1f, 0.4f, 0.1f, 0.4f], 3);
        Assert.Equal([1, 3, 0], top.Select(t => t.Id));
    }

    [Fact]
    public void Cosine_similarity_equals_a_direct_computation()
    {
        float[] h = [1, 0, 0, 1, 1, 0, 0, 0, 3, -4, 0, 0];   // rows (1,0,0), (1,1,0), (0,0,3), (-4,0,0)
        var s = Geometry.CosineSimilarity(h, 4, 3);
        double Cos(int i, int j)
        {
            double dot = 0, ni = 0, nj = 0;
            for (int t = 0; t < 3; t++) { dot += h[i * 3 + t] * h[j * 3 + t]; ni += h[i * 3 + t] * h[i * 3 + t]; nj += h[j * 3 + t] * h[j * 3 + t]; }
            return ni == 0 || nj == 0 ? 0 : dot / Math.Sqrt(ni * nj);
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.True(Math.Abs(s[i * 4 + j] - Cos(i, j)) < 1e-6, $"[{i},{j}]");
        var norms = Geometry.RowNorms(h, 4, 3);
        double[] expected = [1, Math.Sqrt(2), 3, 4];
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(norms[i] - expected[i]) < 1e-6);
    }

    [Fact]
    public void Pca_of_points_on_two_axes_hand_checked()
    {
        // Centred points (±2, 0) and (0, ±1): variance 2 along x, 0.5 along y; explained 80 % / 20 %.
        float[] x = [2, 0, -2, 0, 0, 1, 0, -1];
        var pca = Geometry.Pca(x, 4, 2, 2);
        Assert.Equal(0.8f, pca.ExplainedRatio[0], 5);
        Assert.Equal(0.2f, pca.ExplainedRatio[1], 5);
        Assert.Equal(2f, pca.Variance[0], 5);
        Assert.Equal(0.5f, pca.Variance[1], 5);
        float[] pc1 = [pca.Coordinates[0], pca.Coordinates[2], pca.Coordinates[4], pca.Coordinates[6]];
        float[] pc2 = [pca.Coordinates[1], pca.Coordinates[3], pca.Coordinates[5], pca.Coordinates[7]];
        Assert.Equal([2f, -2f, 0f, 0f], pc1.Select(v => MathF.Round(v, 5) + 0f));
        Assert.Equal([0f, 0f, 1f, -1f], pc2.Select(v => MathF.Round(v, 5) + 0f));
    }

    [Fact]
    public void Pca_of_collinear_points_has_one_component()
    {
        float[] x = [1, 2, 2, 4, 3, 6];   // along (1, 2)
        var pca = Geometry.Pca(x, 3, 2, 2);
        Assert.Equal(1f, pca.ExplainedRatio[0], 5);
        Assert.Equal(0f, pca.ExplainedRatio[1], 5);
        // Distances along the line: centred t = -1, 0, 1 times |(1,2)| = √5.
        Assert.Equal(MathF.Sqrt(5), MathF.Abs(pca.Coordinates[0]), 4);
        Assert.Equal(0f, pca.Coordinates[2], 4);
    }

    [Fact]
    public void Nmf_separates_a_block_matrix_exactly()
    {
        // Tokens 0,1 use neurons 0,1; tokens 2,3 use neurons 2,3: rank 2, non-negative.
        float[] a = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2];
        var r = Nmf.Factorize(a, 4, 4, 2, iterations: 500);
        Assert.True(r.RelativeError < 1e-3, $"relative error {r.RelativeError}");
        Assert.All(r.W, w => Assert.True(w >= 0));
        Assert.All(r.H, h => Assert.True(h >= 0));
        int Dominant(int token) => r.W[token * 2] > r.W[token * 2 + 1] ? 0 : 1;
        Assert.Equal(Dominant(0), Dominant(1));
        Assert.Equal(Dominant(2), Dominant(3));
        Assert.NotEqual(Dominant(0), Dominant(2));
    }

    [Fact]
    public void Nmf_clips_negative_activations_and_rejects_bad_k()
    {
        var r = Nmf.Factorize([-1, 2, 3, -4], 2, 2, 1);
        Assert.All(r.W, w => Assert.True(w >= 0));
        Assert.Throws<AnalysisException>(() => Nmf.Factorize([1, 2, 3, 4], 2, 2, 3));
    }
}
