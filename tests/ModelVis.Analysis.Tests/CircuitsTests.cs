using System.Text.Json;
using ModelVis.Analysis.Circuits;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Analysis.Tests;

/// <summary>
/// Head detectors, direct logit attribution and activation patching against fixtures/expected/interp (sections B–D of
/// README-interp.md), each tensor within its case's suggested tolerance: max |engine − reference| ≤ atol + rtol·max |reference|.
/// </summary>
public class CircuitsTests(ITestOutputHelper output)
{
    static readonly Dictionary<string, LanguageModel> Models = new();
    static LanguageModel ModelOf(string name)
    {
        lock (Models)
        {
            if (!Models.TryGetValue(name, out var m)) Models[name] = m = ModelLoader.Load(Fixtures.Model(name));
            return m;
        }
    }

    double Within(string what, IReadOnlyList<double> engine, float[] reference, (double Rtol, double Atol) tol) =>
        InterpCase.Within(output, what, engine, reference, tol);

    static double[] Flat(double[][] table) => table.SelectMany(r => r).ToArray();

    public static TheoryData<string, string> HeadScoreCases => new()
    {
        { "tiny-gpt2", "attr_len12" }, { "tiny-gpt2", "attr_len12_pos5" }, { "tiny-gpt2", "repeat_T10" },
        { "tiny-llama", "attr_len12" }, { "tiny-llama", "attr_len12_pos5" }, { "tiny-llama", "repeat_T10" },
        { "stories260K", "attr_lily" }, { "stories260K", "attr_lily_pos10" }, { "stories260K", "repeat_T20_bos" },
    };

    [Theory, MemberData(nameof(HeadScoreCases))]
    public void Head_scores_match_the_reference(string model, string name)
    {
        using var c = new InterpCase(model, name);
        var scores = HeadDetectors.Run(ModelOf(model), c.Ints("input_ids"));
        Within($"{model}/{name} previous_token", Flat(scores.PreviousToken), c.Floats("previous_token_score"), c.Tolerance("previous_token_score"));
        if (c.Has("induction_score"))
        {
            var layout = RepeatLayout.Of(c.Ints("input_ids"));
            Assert.Equal(new RepeatLayout(c.Int("prefix_length_offset"), c.Int("block_length_T")), layout);
            Within($"{model}/{name} induction", Flat(scores.Induction), c.Floats("induction_score"), c.Tolerance("induction_score"));
            Within($"{model}/{name} duplicate_token", Flat(scores.DuplicateToken), c.Floats("duplicate_token_score"), c.Tolerance("duplicate_token_score"));
        }
    }

    public static TheoryData<string, string> DlaCases => new()
    {
        { "tiny-gpt2", "attr_len12" }, { "tiny-gpt2", "attr_len12_pos5" }, { "tiny-gpt2", "patch_len10" },
        { "tiny-llama", "attr_len12" }, { "tiny-llama", "attr_len12_pos5" }, { "tiny-llama", "patch_len10" },
        { "stories260K", "attr_lily" }, { "stories260K", "attr_lily_pos10" }, { "stories260K", "patch_lily_tim" },
    };

    [Theory, MemberData(nameof(DlaCases))]
    public void Direct_logit_attribution_matches_the_reference_and_adds_up_to_the_logit(string model, string name)
    {
        using var c = new InterpCase(model, name);
        bool diff = c.Has("dla_diff_heads");
        string prefix = diff ? "dla_diff_" : "dla_";
        var dla = diff
            ? DirectLogitAttribution.Compute(ModelOf(model), new ForwardInput(c.Ints("input_ids")), c.Int("position"), c.Int("t_clean"), c.Int("t_corrupt"))
            : DirectLogitAttribution.Compute(ModelOf(model), new ForwardInput(c.Ints("input_ids")), c.Int("position"), c.Int("target"));
        var tol = c.Tolerance("dla");
        Within($"{model}/{name} {prefix}heads", Flat(dla.Heads), c.Floats(prefix + "heads"), tol);
        Within($"{model}/{name} {prefix}mlp", dla.Mlp, c.Floats(prefix + "mlp"), tol);
        Within($"{model}/{name} {prefix}embed", [dla.Embed], c.Floats(prefix + "embed"), tol);
        Within($"{model}/{name} {prefix}bias", [dla.AttentionBias], c.Floats(prefix + "bias"), tol);
        Within($"{model}/{name} {prefix}final_norm_bias", [dla.FinalNormBias], c.Floats(prefix + "final_norm_bias"), tol);
        Within($"{model}/{name} {prefix}final_scale", [dla.Scale], c.Floats(prefix + "final_scale"), tol);
        Within($"{model}/{name} {prefix}logit", [dla.Logit], c.Floats(prefix + "logit"), tol);
        // The parts add up to the forward's logit (difference): float32 rounding of a few dozen terms.
        Assert.True(Math.Abs(dla.Total - dla.Logit) <= 1e-5 * Math.Max(1, Math.Abs(dla.Logit)), $"parts {dla.Total} vs logit {dla.Logit}");
    }

    public static TheoryData<string, string> PatchCases => new()
    {
        { "tiny-gpt2", "patch_len10" }, { "tiny-llama", "patch_len10" }, { "stories260K", "patch_lily_tim" },
    };

    [Theory, MemberData(nameof(PatchCases))]
    public void Activation_patching_matches_the_reference(string model, string name)
    {
        using var c = new InterpCase(model, name);
        var lm = ModelOf(model);
        var clean = c.Ints("input_ids");
        var corrupt = c.Ints("corrupted_ids");
        // The fixtures' targets come from the default rule, except stories260K's explicit ▁She / ▁He: check the rule where it applies.
        var patching = model == "stories260K"
            ? new ActivationPatching(lm, clean, corrupt, c.Int("t_clean"), c.Int("t_corrupt"))
            : new ActivationPatching(lm, clean, corrupt);
        Assert.Equal(c.Int("t_clean"), patching.TClean);
        Assert.Equal(c.Int("t_corrupt"), patching.TCorrupt);
        var result = patching.Sweep();
        Within($"{model}/{name} metric_clean", [result.MetricClean], c.Floats("metric_clean"), c.Tolerance("metric"));
        Within($"{model}/{name} metric_corrupted", [result.MetricCorrupted], c.Floats("metric_corrupted"), c.Tolerance("metric"));
        Within($"{model}/{name} patch_resid", Flat(result.Resid!), c.Floats("patch_resid"), c.Tolerance("patch_resid"));
        Within($"{model}/{name} patch_heads", Flat(result.Heads!), c.Floats("patch_heads"), c.Tolerance("patch_heads"));
        // Where the prompts agree, patching the embedding changes nothing.
        for (int p = 0; p < clean.Length; p++)
            if (clean[p] == corrupt[p]) Assert.Equal(0.0, result.Resid![0][p]);
    }

    [Theory, MemberData(nameof(PatchCases))]
    public void Patching_the_whole_residual_entering_any_layer_recovers_exactly_one(string model, string name)
    {
        using var c = new InterpCase(model, name);
        var lm = ModelOf(model);
        var patching = new ActivationPatching(lm, c.Ints("input_ids"), c.Ints("corrupted_ids"), c.Int("t_clean"), c.Int("t_corrupt"));
        var all = Enumerable.Range(0, c.Ints("input_ids").Length).ToArray();
        for (int l = 0; l < lm.Config.Layers; l++) Assert.Equal(1.0, patching.PatchResidual(l, all));
        Assert.Equal(0.0, patching.PatchResidual(0, []));
    }

    /// <summary>Every decoder family takes the hooks: resuming a pass from a cached residual gives the forward's logits, and
    /// the DLA parts add up to the logit (post-norm families with their norms frozen; DlaFamiliesTests checks those part by part).</summary>
    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-phi3")]
    [InlineData("tiny-gpt-neox")]
    [InlineData("tiny-olmo2")]
    [InlineData("tiny-gemma3")]
    public void Every_decoder_family_supports_the_hooks(string model)
    {
        var lm = ModelOf(model);
        int[] ids = [3, 17, 42, 5, 99, 8, 23];
        var input = new ForwardInput(ids);
        var capture = lm.Forward(input, new CaptureRequest(HiddenStates: true));
        int n = ids.Length, d = lm.Config.Hidden, V = lm.Config.Vocab, last = lm.Config.Layers / 2;
        var resumed = lm.ForwardFrom(last, (float[])capture.HiddenStates![last].Data.Clone(), input);
        var logits = lm.Unembed(resumed, n, applyFinalNorm: true);
        for (int i = 0; i < n * V; i++) Assert.Equal(capture.Logits!.Data[i], logits[i]);

        var dla = DirectLogitAttribution.Compute(lm, input);
        Assert.Equal(capture.Logits!.Data.AsSpan((n - 1) * V, V).ToArray().Max(), (float)dla.Logit);
        Assert.True(Math.Abs(dla.Total - dla.Logit) <= 1e-4 * Math.Max(1, Math.Abs(dla.Logit)), $"{model}: parts {dla.Total} vs logit {dla.Logit}");
        Assert.Equal(model is "tiny-olmo2" or "tiny-gemma3", dla.PostNormsFrozen);
        // Head patching runs on every family (z is hooked before the output projection, post-norm or not).
        var patching = new ActivationPatching(lm, ids, [3, 17, 42, 5, 12, 8, 23], ids[^1] % V, (ids[^1] + 1) % V);
        Assert.Equal(1.0, patching.PatchResidual(0, Enumerable.Range(0, n)));
        Assert.True(double.IsFinite(patching.PatchHead(lm.Config.Layers - 1, 0)));
    }

    [Fact]
    public void Head_scores_of_a_perfect_previous_token_and_induction_pattern_are_one()
    {
        // Hand-made attention, 1 layer × 2 heads on BOS + B + B with T = 3 (n = 7): head 0 attends to q−1, head 1 to q−T+1 on the second copy.
        int[] ids = [1, 10, 11, 12, 10, 11, 12];
        int n = ids.Length;
        var a = new float[2 * n * n];
        for (int q = 0; q < n; q++)
        {
            a[q * n + Math.Max(0, q - 1)] = 1;
            a[n * n + q * n + (q >= 4 && q <= 5 ? q - 2 : 0)] = 1;
        }
        var s = HeadDetectors.Score([a], 2, ids);
        Assert.Equal(1.0, s.PreviousToken[0][0]);
        Assert.Equal(1.0, s.Induction[0][1]);
        Assert.Equal(0.0, s.DuplicateToken[0][1]);
        Assert.Equal(0.0, s.Induction[0][0]);
        // Without the repeat layout the token-equality rule applies: the same head still scores 1 on its queries.
        int[] noisy = [1, 10, 11, 12, 10, 11, 13];
        Assert.Null(RepeatLayout.Of(noisy));
        Assert.Equal(1.0, HeadDetectors.Score([a], 2, noisy).Induction[0][1]);
    }

    [Fact]
    public void The_probe_is_seeded_distinct_and_starts_with_bos_only_where_the_model_has_its_own()
    {
        var llama = ModelOf("stories260K").Config;
        var a = HeadDetectors.ProbeSequences(llama, 20, 7, 3);
        Assert.Equal(a, HeadDetectors.ProbeSequences(llama, 20, 7, 3));
        Assert.NotEqual(a, HeadDetectors.ProbeSequences(llama, 20, 8, 3));
        foreach (var s in a)
        {
            Assert.Equal(new RepeatLayout(1, 20), RepeatLayout.Of(s));
            Assert.Equal(20, s.Skip(1).Take(20).Distinct().Count());
        }
        var gpt2 = ModelOf("tiny-gpt2").Config;
        Assert.Equal(new RepeatLayout(0, 10), RepeatLayout.Of(HeadDetectors.ProbeSequences(gpt2, 10, 1, 1)[0]));
    }
}
