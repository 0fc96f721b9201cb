using ModelVis.Analysis.Circuits;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Analysis.Tests;

/// <summary>
/// Direct logit attribution on the families whose heads are not plain residual terms: Gemma 2 and 3 and OLMo 2 (a norm
/// after the attention output, frozen at the run's scale) and T5's decoder (self- and cross-attention heads). Each head's
/// part is recomputed here from the checkpoint's own tensors (W_O, the post-norm and final-norm gains, the unembedding)
/// and the captured z; the logit and the embedding's part come from the PyTorch references in fixtures/expected.
/// </summary>
public class DlaFamiliesTests(ITestOutputHelper output)
{
    /// <summary>Records the residual stream and z of every layer at one position; the hooks only read.</summary>
    sealed class Recorder(int position, int layers, int d) : ForwardHooks
    {
        public readonly float[][] Resid = new float[layers + 1][], Z = new float[layers][], CrossZ = new float[layers][];
        public override void Residual(int layer, float[] h, int n) => Resid[layer] = h.AsSpan(position * d, d).ToArray();
        public override void HeadOutputs(int layer, float[] z, int n) => Z[layer] = z.AsSpan(position * (z.Length / n), z.Length / n).ToArray();
        public override void CrossHeadOutputs(int layer, float[] z, int n) => CrossZ[layer] = z.AsSpan(position * (z.Length / n), z.Length / n).ToArray();
    }

    /// <summary>The pieces of one family, named as its checkpoint names them.</summary>
    sealed record Layout(string OProj, string? PostNorm, bool ZeroCentred, string FinalNorm, string Unembedding, string? CrossOProj = null);

    static readonly Dictionary<string, Layout> Layouts = new()
    {
        ["tiny-gemma2"] = new("model.layers.{0}.self_attn.o_proj.weight", "model.layers.{0}.post_attention_layernorm.weight", true, "model.norm.weight", "model.embed_tokens.weight"),
        ["tiny-gemma3"] = new("model.layers.{0}.self_attn.o_proj.weight", "model.layers.{0}.post_attention_layernorm.weight", true, "model.norm.weight", "model.embed_tokens.weight"),
        ["tiny-olmo2"] = new("model.layers.{0}.self_attn.o_proj.weight", "model.layers.{0}.post_attention_layernorm.weight", false, "model.norm.weight", "lm_head.weight"),
        ["tiny-t5"] = new("decoder.block.{0}.layer.0.SelfAttention.o.weight", null, false, "decoder.final_layer_norm.weight", "shared.weight",
            "decoder.block.{0}.layer.1.EncDecAttention.o.weight"),
    };

    static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    static double Rms(IReadOnlyList<double> x, double eps) => Math.Sqrt(x.Sum(v => v * v) / x.Count + eps);

    /// <summary>
    /// Each head's part, from scratch: w_h = W_O[:, h·hd..] · z_h; with a post-norm, o = Σ_h w_h, s = rms(o), and the write is
    /// w_h ⊙ g / s; the part is write · (g_f ⊙ u) / s_f.
    /// </summary>
    static double[] HeadParts(float[] oProj, float[]? postGain, float[] z, int H, int hd, int d, double eps, double[] readout)
    {
        var writes = new double[H][];
        for (int h = 0; h < H; h++)
        {
            writes[h] = new double[d];
            for (int i = 0; i < d; i++)
                for (int k = 0; k < hd; k++) writes[h][i] += (double)oProj[i * H * hd + h * hd + k] * z[h * hd + k];
        }
        if (postGain is not null)
        {
            var o = Enumerable.Range(0, d).Select(i => writes.Sum(w => w[i])).ToArray();
            double s = Rms(o, eps);
            foreach (var w in writes) for (int i = 0; i < d; i++) w[i] *= postGain[i] / s;
        }
        return writes.Select(w => w.Select((v, i) => v * readout[i]).Sum()).ToArray();
    }

    /// <param name="referenceEmbed">The reference's embedding output [n, d] (hidden_states.0).</param>
    /// <param name="referenceNormed">The reference's last hidden state [n, d], the final norm applied: x̂, whose · u is the logit before any cap.</param>
    void Check(string model, ForwardInput input, int position, float[] referenceLogits, float[] referenceEmbed, float[] referenceNormed)
    {
        using var lm = ModelLoader.Load(Fixtures.Model(model));
        using var weights = new SafetensorsFile(Path.Combine(Fixtures.Model(model), "model.safetensors"));
        var cfg = lm.Config;
        var layout = Layouts[model];
        int d = cfg.Hidden, H = cfg.Heads, hd = cfg.HeadDim, L = cfg.Layers, V = cfg.Vocab;
        double eps = cfg.NormEps;
        float[] Gain(string name) => weights.ReadFloats(name).Select(g => layout.ZeroCentred ? 1 + g : g).ToArray();

        var dla = DirectLogitAttribution.Compute(lm, input, position);
        var recorder = new Recorder(position, L, d);
        lm.Forward(input, new CaptureRequest(Logits: false), hooks: recorder);

        // The logit the parts explain, from the PyTorch reference.
        int t = dla.Target;
        Assert.Equal(Array.IndexOf(referenceLogits, referenceLogits.Skip(position * V).Take(V).Max(), position * V) - position * V, t);
        Assert.True(Math.Abs(dla.Logit - referenceLogits[position * V + t]) <= 1e-4, $"{model}: logit {dla.Logit} vs reference {referenceLogits[position * V + t]}");

        // u = W_U[t] (T5's tied head: times d^−½), g_f the final gain, s_f = rms(x) of the final residual.
        var table = weights.ReadFloats(layout.Unembedding);
        double headScale = model == "tiny-t5" ? Math.Pow(d, -0.5) : 1;
        var u = Enumerable.Range(0, d).Select(i => table[t * d + i] * headScale).ToArray();
        var finalGain = Gain(layout.FinalNorm);
        double sFinal = Rms(recorder.Resid[L].Select(v => (double)v).ToArray(), eps);
        var readout = Enumerable.Range(0, d).Select(i => finalGain[i] * u[i] / sFinal).ToArray();
        var embedRow = referenceEmbed.AsSpan(position * d, d);
        var normedRow = referenceNormed.AsSpan(position * d, d);

        // What the parts add up to: the logit itself, or before Gemma 2's soft cap the normed residual · u (reference hidden state).
        double explained = Dot(normedRow, u);
        Assert.True(Math.Abs(dla.Total - explained) <= 1e-4, $"{model}: parts {dla.Total} vs x̂·u {explained}");
        Assert.Equal(dla.Logit - dla.Total, dla.Residual);
        if (cfg.FinalLogitSoftcap > 0)
        {
            double cap = cfg.FinalLogitSoftcap;
            Assert.True(Math.Abs(cap * Math.Tanh(dla.Total / cap) - dla.Logit) <= 1e-5, $"{model}: cap·tanh(Σ parts / cap) vs logit");
            Assert.True(Math.Abs(dla.Residual) > 1e-3, $"{model}: the cap bends a logit of {dla.Logit}, so the parts do not add up to it");
            Assert.Contains(dla.Approximations, a => a.Contains("final_logit_softcapping"));
        }
        else Assert.True(Math.Abs(dla.Residual) <= 1e-5 * Math.Max(1, Math.Abs(dla.Logit)), $"{model}: residual {dla.Residual}");
        output.WriteLine($"{model}: logit {dla.Logit:F6}, Σ parts {dla.Total:F6}, residual {dla.Residual:E2}; {string.Join("; ", dla.Approximations)}");

        // Embedding part from the reference hidden_states.0; every head from scratch; each layer's parts = its residual update.
        double embed = Dot(embedRow, readout);
        Assert.True(Math.Abs(dla.Embed - embed) <= 1e-4, $"{model}: embed {dla.Embed} vs {embed}");
        Assert.Equal(layout.PostNorm is not null, dla.PostNormsFrozen);
        Assert.Equal(layout.CrossOProj is not null, dla.CrossHeads is not null);
        for (int l = 0; l < L; l++)
        {
            var self = HeadParts(weights.ReadFloats(string.Format(layout.OProj, l)), layout.PostNorm is null ? null : Gain(string.Format(layout.PostNorm, l)),
                recorder.Z[l], H, hd, d, eps, readout);
            for (int h = 0; h < H; h++)
                Assert.True(Math.Abs(dla.Heads[l][h] - self[h]) <= 1e-5 * Math.Max(1, Math.Abs(self[h])), $"{model} layer {l} head {h}: {dla.Heads[l][h]} vs {self[h]}");
            double layerSum = dla.Heads[l].Sum() + dla.Mlp[l];
            if (layout.CrossOProj is { } crossName)
            {
                var cross = HeadParts(weights.ReadFloats(string.Format(crossName, l)), null, recorder.CrossZ[l], H, hd, d, eps, readout);
                for (int h = 0; h < H; h++)
                    Assert.True(Math.Abs(dla.CrossHeads![l][h] - cross[h]) <= 1e-5 * Math.Max(1, Math.Abs(cross[h])), $"{model} layer {l} cross head {h}");
                layerSum += dla.CrossHeads![l].Sum();
            }
            var update = Enumerable.Range(0, d).Select(i => (double)recorder.Resid[l + 1][i] - recorder.Resid[l][i]).ToArray();
            double direct = update.Select((v, i) => v * readout[i]).Sum();
            Assert.True(Math.Abs(layerSum - direct) <= 1e-5 * Math.Max(1, Math.Abs(direct)), $"{model} layer {l}: parts {layerSum} vs residual update {direct}");
        }
    }

    [Theory]
    [InlineData("tiny-gemma2")]
    [InlineData("tiny-gemma3")]
    [InlineData("tiny-olmo2")]
    public void Post_norm_decoders_split_the_logit_into_frozen_norm_head_parts(string model)
    {
        using var reference = new SafetensorsFile(Fixtures.Expected(model, "len7.safetensors"));
        var ids = Ints(model, "len7.json", "input_ids");
        int L = ModelConfig.FromFolder(Fixtures.Model(model)).Layers;
        foreach (int position in new[] { ids.Length - 1, 2 })
            Check(model, new ForwardInput(ids), position, reference.ReadFloats("logits"), reference.ReadFloats("hidden_states.0"), reference.ReadFloats($"hidden_states.{L}"));
    }

    [Fact]
    public void T5_decoder_splits_the_logit_into_self_attention_cross_attention_and_feed_forward_parts()
    {
        using var reference = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc7_dec5.safetensors"));
        var ids = Ints("tiny-t5", "enc7_dec5.json", "input_ids");
        var decoderIds = Ints("tiny-t5", "enc7_dec5.json", "decoder_input_ids");
        foreach (int position in new[] { decoderIds.Length - 1, 1 })
            Check("tiny-t5", new ForwardInput(ids, DecoderIds: decoderIds), position, reference.ReadFloats("logits"),
                reference.ReadFloats("decoder_hidden_states.0"), reference.ReadFloats("decoder_hidden_states.3"));
    }

    [Fact]
    public void A_logit_difference_on_a_post_norm_decoder_adds_up_too()
    {
        using var lm = ModelLoader.Load(Fixtures.Model("tiny-olmo2"));
        var dla = DirectLogitAttribution.Compute(lm, new ForwardInput([386, 10, 415, 335, 493, 959, 313]), target: 17, contrast: 42);
        Assert.True(Math.Abs(dla.Residual) <= 1e-5 * Math.Max(1, Math.Abs(dla.Logit)), $"residual {dla.Residual}");
        Assert.True(dla.PostNormsFrozen);
        var e = Assert.Throws<AnalysisException>(() => DirectLogitAttribution.Compute(ModelLoader.Load(Fixtures.Model("tiny-t5")), new ForwardInput([5, 6, 1])));
        Assert.Contains("give the decoder's ids", e.Message);
    }

    static int[] Ints(string model, string file, string key) =>
        System.Text.Json.JsonDocument.Parse(File.ReadAllText(Fixtures.Expected(model, file))).RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
