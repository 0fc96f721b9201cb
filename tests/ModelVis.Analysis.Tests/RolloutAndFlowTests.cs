using ModelVis.Analysis;
using Xunit;

namespace ModelVis.Analysis.Tests;

public class RolloutAndFlowTests
{
    static void Close(double expected, float actual, double tol = 1e-6) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"expected {expected}, got {actual}");

    [Fact]
    public void Residual_adjustment_mixes_half_identity_and_keeps_rows_stochastic()
    {
        // A = [[1, 0], [0.25, 0.75]] → ½A + ½I = [[1, 0], [0.125, 0.875]] (rows already sum to 1).
        var a = AttentionRollout.ResidualAdjusted([1f, 0f, 0.25f, 0.75f], 2);
        Assert.Equal([1.0, 0.0, 0.125, 0.875], a);
    }

    [Fact]
    public void One_layer_rollout_is_the_residual_adjusted_attention()
    {
        var r = AttentionRollout.Compute([[1f, 0f, 0.5f, 0.5f]], 2);
        // ½A + ½I = [[1, 0], [0.25, 0.75]]
        Close(1, r[0]); Close(0, r[1]); Close(0.25, r[2]); Close(0.75, r[3]);
    }

    [Fact]
    public void Two_layer_rollout_multiplies_top_layer_times_bottom_layer()
    {
        // Layer 1 (bottom): A1 = [[1,0],[1,0]] → Â1 = [[1,0],[0.5,0.5]]
        // Layer 2 (top):    A2 = [[1,0],[0,1]] → Â2 = I
        // R = Â2 · Â1 = Â1. Swap the order of products and the answer changes, so this pins the order:
        // with A2 = [[0,1],[0,1]] → Â2 = [[0.5,0.5],[0,1]], R = Â2·Â1 = [[0.75,0.25],[0.5,0.5]].
        var r = AttentionRollout.Compute([[1f, 0f, 1f, 0f], [0f, 1f, 0f, 1f]], 2);
        Close(0.75, r[0]); Close(0.25, r[1]); Close(0.5, r[2]); Close(0.5, r[3]);
        // Â1·Â2 would be [[0.5,0.5],[0.25,0.75]]: different, so the test would catch the wrong order.
    }

    [Fact]
    public void Causal_attention_rolls_out_lower_triangular_and_rows_sum_to_one()
    {
        var rng = new Random(3);
        int n = 5;
        var layers = Enumerable.Range(0, 3).Select(_ =>
        {
            var a = new float[n * n];
            for (int i = 0; i < n; i++)
            {
                float sum = 0;
                for (int j = 0; j <= i; j++) sum += a[i * n + j] = (float)rng.NextDouble();
                for (int j = 0; j <= i; j++) a[i * n + j] /= sum;
            }
            return a;
        }).ToList();
        var r = AttentionRollout.Compute(layers, n);
        for (int i = 0; i < n; i++)
        {
            Close(1, r.Skip(i * n).Take(n).Sum(), 1e-5);
            for (int j = i + 1; j < n; j++) Assert.Equal(0f, r[i * n + j]);
        }
    }

    [Fact]
    public void Mean_over_heads()
    {
        var m = AttentionRollout.MeanOverHeads([1f, 0f, 0f, 1f, 0f, 1f, 1f, 0f], heads: 2, n: 2);
        Assert.Equal([0.5f, 0.5f, 0.5f, 0.5f], m);
    }

    [Fact]
    public void One_layer_flow_is_the_edge_capacity()
    {
        var f = AttentionFlow.Compute([[1f, 0f, 0.5f, 0.5f]], 2);
        Close(1, f[0]); Close(0, f[1]); Close(0.25, f[2]); Close(0.75, f[3]);
    }

    [Fact]
    public void Two_layer_flow_is_limited_by_the_bottleneck_hand_computed()
    {
        // Bottom Â1 = [[1, 0], [0.5, 0.5]] (from A1 = [[1,0],[1,0]]).
        // Top    Â2 = [[0.5, 0.5], [0, 1]]  (from A2 = [[0,1],[0,1]]).
        // Output 0 → input 0: paths 0→0→0 (min(0.5, 1) = 0.5) and 0→1→0 (min(0.5, 0.5) = 0.5): flow 1.0.
        // Output 0 → input 1: only 0→1→1, min(0.5, 0.5) = 0.5.
        // Output 1 → input 0: 1→1→0, min(1, 0.5) = 0.5.  Output 1 → input 1: 1→1→1, min(1, 0.5) = 0.5.
        var f = AttentionFlow.Compute([[1f, 0f, 1f, 0f], [0f, 1f, 0f, 1f]], 2);
        Close(1.0, f[0]); Close(0.5, f[1]); Close(0.5, f[2]); Close(0.5, f[3]);
    }

    [Fact]
    public void Flow_needs_rerouting_through_reverse_edges_to_be_maximal()
    {
        // Three positions, two layers; a greedy path choice would block a second path unless flow can be undone.
        // Top Â2 rows from A2, bottom Â1 rows from A1 (row 0 of each is what matters for output 0).
        float[] a1 = [1, 0, 0, 0, 0, 1, 1, 0, 0];   // Â1: row0 [1,0,0]; row1 [0,.5,.5]; row2 [.5,0,.5]
        float[] a2 = [0, 0.5f, 0.5f, 0, 1, 0, 0, 0, 1]; // Â2: row0 [.5,.25,.25]; row1 [0,1,0]; row2 [0,0,1]
        var f = AttentionFlow.Compute([a1, a2], 3);
        // Output 0 → input 0: 0→0→0 carries min(.5, 1) = .5; 0→2→0 carries min(.25, .5) = .25; 0→1→0 has no edge 1→0 below. Total .75.
        Close(0.75, f[0]);
        // Output 0 → input 2: 0→1→2 min(.25,.5)=.25 and 0→2→2 min(.25,.5)=.25: .5
        Close(0.5, f[2]);
    }

    [Fact]
    public void Flow_refuses_long_inputs_with_advice()
    {
        int n = AttentionFlow.MaxTokens + 1;
        var e = Assert.Throws<AnalysisException>(() => AttentionFlow.Compute([new float[n * n]], n));
        Assert.Contains("rollout works at any length", e.Message);
    }
}
