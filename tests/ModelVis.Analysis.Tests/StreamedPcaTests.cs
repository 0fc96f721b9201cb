using ModelVis.Analysis;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Analysis.Tests;

/// <summary>The streamed, randomized PCA of a token matrix against the exact power-iteration PCA of the same rows held whole.</summary>
public class StreamedPcaTests
{
    static void AssertSameComponents(PcaResult exact, PcaResult streamed, int components, double tolerance)
    {
        int n = exact.Rows;
        for (int c = 0; c < components; c++)
        {
            Assert.True(Math.Abs(exact.ExplainedRatio[c] - streamed.ExplainedRatio[c]) < tolerance * exact.ExplainedRatio[0],
                $"component {c}: explained {string.Join(" ", streamed.ExplainedRatio)} vs {string.Join(" ", exact.ExplainedRatio)}");
            double worst = 0, scale = 0;
            for (int i = 0; i < n; i++)
            {
                worst = Math.Max(worst, Math.Abs(exact.Coordinates[i * exact.Components + c] - streamed.Coordinates[i * streamed.Components + c]));
                scale = Math.Max(scale, Math.Abs(exact.Coordinates[i * exact.Components + c]));
            }
            Assert.True(worst < tolerance * scale, $"component {c}: coordinates differ by {worst} at scale {scale}");
        }
    }

    [Fact]
    public void A_matrix_of_rank_five_is_recovered_exactly()
    {
        int n = 3000, d = 40, rank = 5;
        var random = new Random(7);
        var basis = Enumerable.Range(0, rank * d).Select(_ => random.NextDouble() - 0.5).ToArray();
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rank; r++)
            {
                double w = (random.NextDouble() - 0.5) * (rank - r) * 3;     // distinct variances along the 5 directions
                for (int j = 0; j < d; j++) x[i * d + j] += (float)(w * basis[r * d + j]) + (r == 0 ? 0.3f : 0);
            }
        var exact = Geometry.Pca(x, n, d, rank);
        var streamed = StreamedPca.Compute(n, d, (i, row) => x.AsSpan(i * d, d).CopyTo(row), rank);
        AssertSameComponents(exact, streamed, rank, 1e-3);
        Assert.Equal(1.0, streamed.ExplainedRatio.Sum(), 3);
    }

    [Fact]
    public void The_stories260K_embedding_has_the_exact_leading_components()
    {
        using var model = ModelLoader.Load(Fixtures.Model("stories260K"));
        int n = model.Config.Vocab, d = model.Config.Hidden;
        var x = new float[n * d];
        for (int i = 0; i < n; i++) model.TokenRow(TokenMatrix.Embedding, i, x.AsSpan(i * d, d));
        var exact = Geometry.Pca(x, n, d, 3);
        var streamed = StreamedPca.Compute(n, d, (i, row) => model.TokenRow(TokenMatrix.Embedding, i, row), 50);
        Assert.Equal(50, streamed.Components);
        AssertSameComponents(exact, streamed, 3, 2e-3);
    }
}
