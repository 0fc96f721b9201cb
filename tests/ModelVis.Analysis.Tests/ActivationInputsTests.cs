using ModelVis.Analysis;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tensors;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Analysis.Tests;

/// <summary>
/// The activation view's histograms against MLP pre-activations computed here from the checkpoint's own weights:
/// the residual entering each MLP is the residual after the layer minus the MLP's output (both read through forward
/// hooks), then the MLP's norm and first projection in double precision, binned by brute force.
/// </summary>
public class ActivationInputsTests
{
    sealed class ResidualsAndMlpOutputs(int layers) : ForwardHooks
    {
        public readonly float[][] After = new float[layers + 1][], Mlp = new float[layers][];
        public override void Residual(int layer, float[] h, int n) => After[layer] = (float[])h.Clone();
        public override void MlpOutput(int layer, float[] output, int n) => Mlp[layer] = (float[])output.Clone();
    }

    /// <summary>x = ln(h)·W + b for GPT-2 (LayerNorm, Conv1D [d, I]); x = gate_proj(rms(h)·g) for Llama (W [I, d]).</summary>
    static double[] PreActivation(ICheckpoint ckpt, ModelConfig c, int layer, float[] hMid, int n)
    {
        int d = c.Hidden, I = c.Intermediate;
        bool gpt2 = c.Family == ModelFamily.Gpt2;
        string p = gpt2 ? $"transformer.h.{layer}." : $"model.layers.{layer}.";
        var gain = ckpt.ReadFloats(p + (gpt2 ? "ln_2.weight" : "post_attention_layernorm.weight"));
        var beta = gpt2 ? ckpt.ReadFloats(p + "ln_2.bias") : null;
        var w = ckpt.ReadFloats(p + (gpt2 ? "mlp.c_fc.weight" : "mlp.gate_proj.weight"));
        var bias = gpt2 ? ckpt.ReadFloats(p + "mlp.c_fc.bias") : null;
        var x = new double[n * I];
        for (int i = 0; i < n; i++)
        {
            var h = hMid.AsSpan(i * d, d).ToArray().Select(v => (double)v).ToArray();
            double mean = gpt2 ? h.Average() : 0;
            double var_ = h.Select(v => (v - mean) * (v - mean)).Average();
            double inv = 1 / Math.Sqrt(var_ + c.NormEps);
            var normed = h.Select((v, j) => (v - mean) * inv * gain[j] + (beta?[j] ?? 0)).ToArray();
            for (int u = 0; u < I; u++)
            {
                double s = bias?[u] ?? 0;
                for (int j = 0; j < d; j++) s += normed[j] * (gpt2 ? w[j * I + u] : w[u * d + j]);
                x[i * I + u] = s;
            }
        }
        return x;
    }

    [Theory]
    [InlineData("tiny-gpt2", "gelu_new", false)]
    [InlineData("stories260K", "silu", true)]
    public void Histograms_and_fractions_match_pre_activations_computed_from_the_weights(string name, string function, bool gated)
    {
        using var model = ModelLoader.Load(Fixtures.Model(name));
        using var ckpt = CheckpointLoader.Open(Fixtures.Model(name));
        var c = model.Config;
        var ids = Enumerable.Range(0, 24).Select(i => (i * 37 + 5) % Math.Min(c.Vocab, 500)).ToArray();
        var input = new ForwardInput(ids);
        var hooks = new ResidualsAndMlpOutputs(c.Layers);
        model.Forward(input, new CaptureRequest(Logits: false), hooks: hooks);

        const int bins = 40;
        var profile = ActivationInputs.Capture(model, input, bins);
        Assert.Equal(function, profile.Function);
        Assert.Equal(gated, profile.Gated);
        Assert.Equal(c.Layers, profile.Layers.Length);
        for (int l = 0; l < c.Layers; l++)
        {
            var hMid = hooks.After[l + 1].Zip(hooks.Mlp[l], (a, b) => a - b).ToArray();
            var x = PreActivation(ckpt, c, l, hMid, ids.Length);
            var layer = profile.Layers[l];
            Assert.Equal(x.Length, layer.Total);
            Assert.Equal(x.Length, layer.Counts.Sum());
            double scale = x.Max(Math.Abs);
            Assert.Equal(x.Min(), layer.Min, 4e-5 * scale + 1e-6);
            Assert.Equal(x.Max(), layer.Max, 4e-5 * scale + 1e-6);
            Assert.Equal(x.Average(), layer.Mean, 1e-5 * scale + 1e-7);
            // Brute-force bins over the profile's range: a value within float rounding of an edge may land either side.
            var expected = new long[bins];
            double width = (layer.Max - layer.Min) / (double)bins;
            foreach (var v in x) expected[Math.Clamp((int)((v - layer.Min) / width), 0, bins - 1)]++;
            long moved = expected.Zip(layer.Counts, (e, a) => Math.Abs(e - a)).Sum();
            Assert.True(moved <= 2 + x.Length / 2000, $"layer {l}: {moved} values in other bins");
            // Fractions from f and f′ in double: SiLU(x) = x·σ(x); the tanh GELU; slopes by central differences.
            Func<double, double> f = function == "silu" ? v => v / (1 + Math.Exp(-v))
                : v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            double nearZero = x.Count(v => Math.Abs(f(v)) < ActivationInputs.NearZeroBelow) / (double)x.Length;
            double flat = x.Count(v => Math.Abs((f(v + 1e-4) - f(v - 1e-4)) / 2e-4) < ActivationInputs.FlatSlopeBelow) / (double)x.Length;
            Assert.Equal(nearZero, layer.NearZero, 0.003);
            Assert.Equal(flat, layer.Flat, 0.003);
            // The curve is f itself.
            for (int i = 0; i < layer.CurveX.Length; i += 17) Assert.Equal(f(layer.CurveX[i]), layer.CurveY[i], 1e-5);
        }
    }

    [Fact]
    public void Relu_inputs_below_zero_are_near_zero_and_flat()
    {
        float[] x = [-3f, -1f, -0.5f, 0.5f, 2f, 4f];
        var layer = ActivationInputs.Profile("relu", false, 6, [x], 4).Layers[0];
        Assert.Equal(new long[] { 1, 2, 2, 1 }, layer.Counts);     // bins of width 1.75 over [−3, 4]
        Assert.Equal(0.5, layer.NearZero, 9);
        Assert.Equal(0.5, layer.Flat, 9);
    }
}
