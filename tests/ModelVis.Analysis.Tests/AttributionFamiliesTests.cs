using System.Text.Json;
using System.Text.Json.Nodes;
using ModelVis.Analysis.Attribution;
using ModelVis.Autodiff;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Models.Differentiable;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Analysis.Tests;

/// <summary>
/// The differentiable forwards of the families fixtures/expected/interp has no cases for (Qwen3, Phi-3, OLMo 2, Gemma 2,
/// Gemma 3, GPT-NeoX) and T5: their logits against the PyTorch references of fixtures/expected/&lt;model&gt; and the inference engine,
/// and their gradients against finite differences of their own forward (input × gradient is a directional derivative).
/// </summary>
public class AttributionFamiliesTests(ITestOutputHelper output)
{
    static readonly string[] FamilyModels = ["tiny-qwen3", "tiny-phi3", "tiny-olmo2", "tiny-gemma2", "tiny-gemma3", "tiny-gpt-neox", "tiny-t5"];

    /// <summary>Each model's short case, long case (past every sliding window, Phi-3's original context), and the cases with padding.</summary>
    static string[] CasesOf(string model) => model == "tiny-t5" ? ["enc7_dec5", "enc40_dec12", "enc9_pad2_dec5"] : ["len7", "len40"];

    public static TheoryData<string> Families => new(FamilyModels);

    public static TheoryData<string, string> ReferenceCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in FamilyModels) foreach (var c in CasesOf(model)) data.Add(model, c);
        return data;
    }

    static readonly Dictionary<string, DifferentiableModel> Models = new();
    static DifferentiableModel ModelOf(string name)
    {
        lock (Models)
        {
            if (!Models.TryGetValue(name, out var m)) Models[name] = m = DifferentiableModel.Load(Fixtures.Model(name));
            return m;
        }
    }

    /// <summary>The case's input: its ids, and the encoder's mask and the decoder's ids where it has them.</summary>
    static ForwardInput InputOf(string model, string caseName)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Expected(model, caseName + ".json"))).RootElement;
        int[]? Ints(string key) => json.TryGetProperty(key, out var a) ? [.. a.EnumerateArray().Select(e => e.GetInt32())] : null;
        var mask = Ints("attention_mask");
        return new ForwardInput(Ints("input_ids")!, mask is not null && mask.Contains(0) ? mask : null, null, Ints("decoder_input_ids"));
    }

    /// <summary>logits[position, every token] of one pass of the tape forward over the rows e.</summary>
    static float[] TapeLogits(DifferentiableModel m, ForwardInput input, float[] e, int position)
    {
        var tape = new Tape<float> { Recording = false };
        var all = Enumerable.Range(0, m.Config.Vocab).ToArray();
        return m.Logits(tape, new Var<float>(e, [input.Length, m.Config.Hidden]), 1, input, position, all).Data;
    }

    /// <summary>
    /// Every position's full logit row (len40: Gemma's sliding windows of 16 and 12 are exceeded, Phi-3 switches to its long
    /// rope factors; T5: every decoder position, with a padded encoder too) within the fixture's 1e-4 of PyTorch, and within
    /// 2e-5 of the inference engine.
    /// </summary>
    [Theory, MemberData(nameof(ReferenceCases))]
    public void The_tape_forward_is_the_reference_forward_and_the_engines(string model, string caseName)
    {
        var m = ModelOf(model);
        using var engine = ModelLoader.Load(Fixtures.Model(model));
        using var expected = new SafetensorsFile(Fixtures.Expected(model, caseName + ".safetensors"));
        var reference = expected.ReadFloats("logits");
        var input = InputOf(model, caseName);
        var engineLogits = engine.Forward(input, CaptureRequest.LogitsOnly).Logits!;
        var e = m.EmbeddingRows(input.Ids);
        int V = m.Config.Vocab;
        double vsReference = 0, vsEngine = 0;
        for (int p = 0; p < engineLogits.Shape[0]; p++)
        {
            var ours = TapeLogits(m, input, e, p);
            var theirs = engineLogits.Row(p);
            for (int t = 0; t < V; t++)
            {
                vsReference = Math.Max(vsReference, Math.Abs(ours[t] - reference[p * V + t]));
                vsEngine = Math.Max(vsEngine, Math.Abs(ours[t] - theirs[t]));
            }
        }
        output.WriteLine($"{model}/{caseName}: max |tape − PyTorch| {vsReference:E2}, max |tape − engine| {vsEngine:E2}");
        Assert.True(vsReference <= 1e-4, $"{model}/{caseName}: tape vs PyTorch {vsReference:E3}");
        Assert.True(vsEngine <= 2e-5, $"{model}/{caseName}: tape vs engine {vsEngine:E3}");
    }

    /// <summary>
    /// Σᵢ eᵢ·gᵢ (input × gradient summed) is d/dα f(α e) at α = 1, and Σᵢ uᵢ·gᵢ the derivative along a random direction u:
    /// both against central differences of the float forward, Richardson-extrapolated (h and h/2) so truncation is O(h⁴).
    /// T5 runs as its gated-GELU variant (<see cref="GatedGeluT5"/>): ReLU's kinks make a difference quotient err linearly
    /// in the step, past what float32 rounding leaves room for.
    /// The target is a logit difference at a middle position, past which every score is exactly 0 (T5: a decoder position,
    /// explained by all the encoder's tokens).
    /// </summary>
    [Theory, MemberData(nameof(Families))]
    public void Gradients_are_directional_derivatives_of_the_forward(string model)
    {
        using var variant = model == "tiny-t5" ? GatedGeluT5() : null;
        using var own = variant is null ? null : DifferentiableModel.Load(variant.Path);
        var m = own ?? ModelOf(model);
        var input = InputOf(model, CasesOf(model)[1]);
        int n = input.Length, d = m.Config.Hidden;
        var target = new AttributionTarget(input.DecoderIds is null ? 23 : 8, 17, 400);
        var (value, g) = TokenAttribution.Gradient(m, input, target);
        var e = m.EmbeddingRows(input.Ids);
        double F(float[] rows) { var l = TapeLogits(m, input, rows, target.Position); return (double)l[target.Target] - l[target.Contrast!.Value]; }
        Assert.Equal(F(e), value, 1e-6);

        var rng = new Random(17);
        float rms = (float)Math.Sqrt(e.Average(x => (double)x * x));
        var random = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 2 - 1) * rms).ToArray();     // as large as e
        foreach (var (name, u, h) in new[] { ("along e", e, 0.02), ("random", random, 0.05) })
        {
            double Central(double step)
            {
                float[] Shifted(double s) => [.. e.Select((x, i) => (float)(x + s * u[i]))];
                return (F(Shifted(step)) - F(Shifted(-step))) / (2 * step);
            }
            double numeric = (4 * Central(h / 2) - Central(h)) / 3;
            double analytic = 0;
            for (int i = 0; i < n * d; i++) analytic += (double)u[i] * g[i];
            output.WriteLine($"{model} {name}: Σ u·g = {analytic:G8}, finite difference {numeric:G8}, |diff| {Math.Abs(analytic - numeric):E2}");
            Assert.True(Math.Abs(analytic - numeric) <= 3e-4 + 1e-3 * Math.Abs(numeric), $"{model} {name}: {analytic} vs {numeric}");
        }
        var ixg = TokenAttribution.Run(m, input, target, AttributionMethod.InputXGradient);
        Assert.Equal(Enumerable.Range(0, n * d).Sum(i => (double)e[i] * g[i]), ixg.Scores.Sum(s => (double)s), 1e-5);
        for (int i = target.Position + 1; i < n && m.IsCausal; i++)
        {
            Assert.Equal(0f, ixg.Scores[i]);
            for (int j = 0; j < d; j++) Assert.Equal(0f, g[i * d + j]);
        }
    }

    /// <summary>
    /// Integrated gradients with the token baseline (row 0 for every token but the first) at 256 steps: Σ IG within 1% of
    /// f(e) − f(e′), the completeness README-interp.md shows this baseline reaching. Occlusion, which runs its passes in
    /// batches, against one pass per occluded row: f(e) − f(e with row i zero), and its f(e) the engine's logit.
    /// </summary>
    [Theory, MemberData(nameof(Families))]
    public void Integrated_gradients_are_complete_with_a_token_baseline_and_occlusion_is_one_pass_per_row(string model)
    {
        var m = ModelOf(model);
        using var engine = ModelLoader.Load(Fixtures.Model(model));
        var input = InputOf(model, CasesOf(model)[0]);
        var target = AttributionTarget.Resolve(engine, input, null, null, null);
        var ig = TokenAttribution.Run(m, input, target, AttributionMethod.IntegratedGradients, 256, new Baseline(0, KeepFirst: true));
        var k = ig.Completeness!;
        output.WriteLine($"{model}: f(e) {k.TargetValue:G6}, f(e′) {k.BaselineValue:G6}, Σ IG {k.SumOfAttributions:G6}, relative error {k.RelativeError:E2}");
        Assert.True(k.RelativeError < 0.01, $"{model}: completeness error {k.RelativeError:P2}");

        var occlusion = TokenAttribution.Run(m, input, target, AttributionMethod.Occlusion);
        Assert.Equal(engine.Forward(input, CaptureRequest.LogitsOnly).Logits!.Row(target.Position)[target.Target], occlusion.TargetValue, 2e-5);
        var e = m.EmbeddingRows(input.Ids);
        int d = m.Config.Hidden;
        for (int i = 0; i < input.Length; i++)
        {
            var occluded = (float[])e.Clone();
            Array.Clear(occluded, i * d, d);
            double expected = occlusion.TargetValue - TapeLogits(m, input, occluded, target.Position)[target.Target];
            Assert.Equal(expected, occlusion.Scores[i], 1e-5);
        }
    }

    /// <summary>
    /// tiny-t5 as a gated-GELU T5 (flan-t5's feed-forward, wo(gelu_tanh(wi_0·x) ⊙ wi_1·x)): wi_0 = wi, wi_1 = wi / 2, the other weights as stored.
    /// </summary>
    static Fixtures.TempDir GatedGeluT5()
    {
        var dir = new Fixtures.TempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Model("tiny-t5"), "config.json")))!.AsObject();
        config["feed_forward_proj"] = "gated-gelu";
        config["dense_act_fn"] = "gelu_new";
        config["is_gated_act"] = true;
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        using var source = new SafetensorsFile(Path.Combine(Fixtures.Model("tiny-t5"), "model.safetensors"));
        var writer = new SafetensorsWriter();
        foreach (var t in source.Tensors)
        {
            var values = source.ReadFloats(t);
            long[] shape = [.. t.Shape];
            if (!t.Name.EndsWith("DenseReluDense.wi.weight", StringComparison.Ordinal)) { writer.Add(t.Name, values, shape); continue; }
            writer.Add(t.Name.Replace("wi.weight", "wi_0.weight"), values, shape);
            writer.Add(t.Name.Replace("wi.weight", "wi_1.weight"), [.. values.Select(v => v / 2)], shape);
        }
        writer.Save(dir.File("model.safetensors"));
        return dir;
    }

    /// <summary>The gated-GELU T5's tape forward against the engine's, at every decoder position (the fixture's T5 is ReLU, ungated).</summary>
    [Fact]
    public void Gated_gelu_t5_tape_forward_is_the_engines()
    {
        using var dir = GatedGeluT5();
        using var m = DifferentiableModel.Load(dir.Path);
        using var engine = ModelLoader.Load(dir.Path);
        Assert.True(m.Config.GatedMlp);
        var input = InputOf("tiny-t5", "enc9_pad2_dec5");
        var logits = engine.Forward(input, CaptureRequest.LogitsOnly).Logits!;
        var e = m.EmbeddingRows(input.Ids);
        double worst = 0;
        for (int p = 0; p < input.DecoderIds!.Length; p++)
        {
            var ours = TapeLogits(m, input, e, p);
            var theirs = logits.Row(p);
            for (int t = 0; t < ours.Length; t++) worst = Math.Max(worst, Math.Abs(ours[t] - theirs[t]));
        }
        output.WriteLine($"gated-gelu tiny-t5: max |tape − engine| {worst:E2}");
        Assert.True(worst <= 2e-5, $"gated-gelu T5: tape vs engine {worst:E3}");
    }

    [Fact]
    public void T5_without_decoder_ids_is_a_clear_error()
    {
        var m = ModelOf("tiny-t5");
        Assert.False(m.IsCausal);
        var input = new ForwardInput(InputOf("tiny-t5", "enc7_dec5").Ids);
        var error = Assert.Throws<AnalysisException>(() => TokenAttribution.Run(m, input, new AttributionTarget(0, 5), AttributionMethod.Saliency));
        Assert.Contains("decoder", error.Message);
        var outside = Assert.Throws<AnalysisException>(() => TokenAttribution.Run(m, InputOf("tiny-t5", "enc7_dec5"), new AttributionTarget(5, 5), AttributionMethod.Saliency));
        Assert.Contains("outside the 5 tokens", outside.Message);
    }
}
