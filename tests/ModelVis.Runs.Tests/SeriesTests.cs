using ModelVis.Checkpoints;
using ModelVis.Runs;
using ModelVis.Tests;

namespace ModelVis.Runs.Tests;

/// <summary>A tensor's histogram over a folder of checkpoints, against counts and ranges computed here from the values written.</summary>
public class SeriesTests
{
    /// <summary>w in checkpoint k: seeded normal values with standard deviation 0.1·(k+1) (weights spreading as they train).</summary>
    static float[] Weights(int k, int n)
    {
        var rng = new Random(100 + k);
        return Enumerable.Range(0, n).Select(_ => (float)(0.1 * (k + 1) * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
    }

    [Fact]
    public void A_series_is_ordered_by_the_numbers_in_its_names_and_each_histogram_matches_the_values()
    {
        using var dir = new Fixtures.TempDir();
        string[] names = ["epoch=10-step=110.safetensors", "epoch=0-step=10.safetensors", "epoch=2-step=30.safetensors"];
        var values = new Dictionary<string, float[]>();
        const int n = 3000;
        foreach (var (name, k) in new[] { (names[1], 0), (names[2], 1), (names[0], 2) })
        {
            var w = Weights(k, n);
            w[17] = float.NaN;                                   // not counted
            values[name] = w;
            new SafetensorsWriter().Add("w", w, 60, 50).Add("b", [k, k + 1f], 2).Add($"only_{k}", [1f], 1).Save(dir.File(name));
        }
        File.WriteAllText(dir.File("notes.txt"), "not a checkpoint");

        var series = CheckpointSeries.Find(dir.Path);
        Assert.Equal(["epoch=0-step=10.safetensors", "epoch=2-step=30.safetensors", "epoch=10-step=110.safetensors"], series.Select(s => s.Name));
        Assert.Equal([10L, 30, 110], series.Select(s => s.Step));

        var checkpoints = series.Select(s => CheckpointLoader.Open(s.Path)).ToList();
        try
        {
            Assert.Equal(["w", "b"], CheckpointSeries.CommonTensors(checkpoints).Select(t => t.Name));
            const int bins = 16;
            var steps = CheckpointSeries.Histograms(checkpoints, series, "w", bins);

            // The shared edges: bins equal buckets over the series' finite range.
            var finite = series.Select(s => values[s.Name].Where(float.IsFinite).Select(v => (double)v).ToArray()).ToArray();
            double lo = finite.Min(f => f.Min()), hi = finite.Max(f => f.Max()), width = (hi - lo) / bins;
            for (int k = 0; k < series.Count; k++)
            {
                var h = steps[k];
                Assert.Equal(series[k].Step, h.Step);
                var counts = new double[bins];
                foreach (var v in finite[k]) counts[Math.Min(bins - 1, (int)((v - lo) / width))]++;
                int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
                Assert.Equal(counts[first..(last + 1)], h.Counts);
                Assert.Equal(n - 1, h.Total);
                Assert.Equal(finite[k].Min(), h.Left[0], 6);
                Assert.Equal(finite[k].Max(), h.Right[^1], 6);
                for (int i = 1; i < h.Left.Length; i++) Assert.Equal(lo + (first + i) * width, h.Left[i], 9);

                // TensorBoard's bands: the 0 and 10000 basis points are the extremes; the median within a bucket of the true one.
                var p = HistogramPercentiles.Compute(h);
                Assert.Equal(h.Left[0], p[0]);
                Assert.Equal(h.Right[^1], p[^1]);
                // Every band within a bucket width of the sample's own quantile.
                var sorted = finite[k].Order().ToArray();
                for (int b = 1; b < p.Length - 1; b++)
                {
                    double exact = sorted[(int)Math.Round(HistogramPercentiles.BasisPoints[b] / 10000.0 * (sorted.Length - 1))];
                    Assert.True(Math.Abs(p[b] - exact) <= width, $"checkpoint {k}, {HistogramPercentiles.BasisPoints[b]} bp: {p[b]} vs {exact}");
                }
            }
            // The spread grows with the checkpoints, as written: the ±1σ band (basis points 1587 and 8413) widens.
            var bands = steps.Select(h => HistogramPercentiles.Compute(h)).Select(p => p[6] - p[2]).ToArray();
            Assert.True(bands[0] < bands[1] && bands[1] < bands[2], string.Join(", ", bands));
        }
        finally { foreach (var c in checkpoints) c.Dispose(); }
    }

    [Fact]
    public void A_lightning_checkpoint_and_a_later_safetensors_form_a_series_of_its_weights()
    {
        var ckptPath = Fixtures.Path_("runs", "lightning-mnist-mlp", "epoch=2-step=3930.ckpt");
        using var dir = new Fixtures.TempDir();
        File.Copy(ckptPath, dir.File("epoch=2-step=3930.ckpt"));
        using (var ckpt = CheckpointLoader.Open(ckptPath))
        {
            var writer = new SafetensorsWriter();
            foreach (var t in ckpt.Tensors) writer.Add(t.Name, ckpt.ReadFloats(t).Select(v => v * 2).ToArray(), t.Shape);
            writer.Save(dir.File("epoch=3-step=5240.safetensors"));
        }
        var series = CheckpointSeries.Find(dir.Path);
        Assert.Equal([3930L, 5240], series.Select(s => s.Step));
        var checkpoints = series.Select(s => CheckpointLoader.Open(s.Path)).ToList();
        try
        {
            var tensors = CheckpointSeries.CommonTensors(checkpoints);
            Assert.Equal(checkpoints[0].Tensors.Select(t => t.Name), tensors.Select(t => t.Name));
            var name = tensors[0].Name;
            var values = checkpoints[0].ReadFloats(checkpoints[0].Get(name));
            var steps = CheckpointSeries.Histograms(checkpoints, series, name, 30);
            Assert.Equal(values.Min(), steps[0].Left[0], 6);
            Assert.Equal(values.Max(), steps[0].Right[^1], 6);
            Assert.Equal(2 * values.Min(), steps[1].Left[0], 6);
            Assert.Equal(2 * values.Max(), steps[1].Right[^1], 6);
            Assert.Equal(values.Length, steps[0].Total);
            Assert.Equal(values.Length, steps[1].Total);
        }
        finally { foreach (var c in checkpoints) c.Dispose(); }
    }
}
