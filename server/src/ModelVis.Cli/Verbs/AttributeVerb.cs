using System.CommandLine;
using ModelVis.Analysis.Attribution;
using ModelVis.Models;
using ModelVis.Models.Differentiable;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>attribute --model DIR (--text TEXT | --ids …) [--position P] [--target ID] [--contrast ID] --method saliency|ixg|ig|occlusion
/// [--steps M] [--baseline zero|token] [--decoder-ids … | --decoder-text …] --json</c> → {"ids", "tokens", "position", "target",
/// "scores": [...], "completeness": {...}} (completeness for ig only): which input tokens the logit of <c>target</c> at
/// <c>position</c> comes from (fixtures/README-interp.md, section A). An encoder-decoder (T5) explains a decoder position's
/// logit by the encoder's input tokens; its decoder input is given or generated as <c>capture</c> does, and listed as "decoder_ids".
/// </summary>
static class AttributeVerb
{
    public static Command Create()
    {
        var io = new ModelInputOptions();
        var position = new Option<int?>("--position") { Description = "Position whose prediction to explain (default: the last; an encoder's first [MASK])" };
        var target = new Option<int?>("--target") { Description = "Token id whose logit to explain (default: the model's prediction there)" };
        var contrast = new Option<int?>("--contrast") { Description = "Explain logit[target] − logit[contrast] instead" };
        var method = new Option<string>("--method") { Description = "saliency, ixg (input × gradient), ig (integrated gradients) or occlusion", Required = true };
        var steps = new Option<int>("--steps") { Description = "Integrated-gradients steps (middle Riemann rule)", DefaultValueFactory = _ => 64 };
        var baseline = new Option<string>("--baseline") { Description = "Integrated-gradients baseline: zero (every token row 0) or token (the pad/unk row, a leading BOS kept)", DefaultValueFactory = _ => "zero" };
        var decoderIds = new Option<string?>("--decoder-ids") { Description = "Encoder-decoder models: the decoder's input ids (the position is a decoder position)" };
        var decoderText = new Option<string?>("--decoder-text") { Description = "Encoder-decoder models: the decoder's input as text" };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("attribute", "Gradient attribution of a logit to the input tokens: saliency, input × gradient, integrated gradients, occlusion")
            { position, target, contrast, method, steps, baseline, decoderIds, decoderText, json };
        io.AddTo(cmd);
        cmd.SetAction((parse, ct) => Task.Run(() =>
        {
            var dir = io.Folder(parse);
            var m = AttributionMethods.Parse(parse.GetValue(method)!);
            var input = CaptureVerb.ReadInput(dir, parse.GetValue(io.Text), parse.GetValue(io.Ids));
            var tokenizer = TryTokenizer(dir);
            using var lm = ModelLoader.Load(dir);
            input = CaptureVerb.WithDecoderInput(lm, dir, input, parse.GetValue(decoderIds), parse.GetValue(decoderText));
            using var model = DifferentiableModel.Load(dir);
            var t = AttributionTarget.Resolve(lm, input, parse.GetValue(position), parse.GetValue(target), parse.GetValue(contrast),
                AttributionTarget.MaskTokenId(tokenizer), ct);
            var b = Baseline.Parse(parse.GetValue(baseline)!, lm.Config, tokenizer, input.Ids[0]);
            var r = TokenAttribution.Run(model, input, t, m, parse.GetValue(steps), b, (done, total) => CliRunner.Progress((double)done / total, $"{done}/{total} passes"), ct);
            var tokens = input.Ids.Select(id => tokenizer?.IdToToken(id) ?? id.ToString()).ToArray();
            if (parse.GetValue(json))
            {
                var result = new Dictionary<string, object?>
                {
                    ["ids"] = input.Ids, ["tokens"] = tokens, ["position"] = t.Position, ["target"] = t.Target, ["scores"] = r.Scores,
                };
                if (t.Contrast is { } c) result["contrast"] = c;
                if (input.DecoderIds is { } decoder) result["decoder_ids"] = decoder;
                if (r.Completeness is { } k)
                    result["completeness"] = new Dictionary<string, object>
                    {
                        ["steps"] = k.Steps, ["sum_of_attributions"] = k.SumOfAttributions, ["target_value"] = k.TargetValue,
                        ["baseline_value"] = k.BaselineValue, ["difference"] = k.Difference, ["relative_error"] = k.RelativeError,
                    };
                CliRunner.WriteJson(result);
            }
            else
            {
                Console.WriteLine($"position {t.Position}, target {t.Target}{(t.Contrast is { } c ? $" − {c}" : "")}: f = {r.TargetValue:F4}, {parse.GetValue(method)}");
                for (int i = 0; i < tokens.Length; i++) Console.WriteLine($"{i,5} {input.Ids[i],7}  {r.Scores[i],12:G6}  {tokens[i]}");
                if (r.Completeness is { } k)
                    Console.WriteLine($"completeness ({k.Steps} steps): Σ IG {k.SumOfAttributions:G6} vs f(x) − f(x′) {k.Difference:G6}, relative error {k.RelativeError:P3}");
            }
            return 0;
        }, ct));
        return cmd;
    }

    /// <summary>The folder's tokenizer, or null when it has none (the fixtures' tiny models): ids then stand for tokens.</summary>
    static Tokenizer? TryTokenizer(string dir)
    {
        try { return ModelTokenizer.Open(dir); }
        catch (Exception e) when (e is TokenizerException or FileNotFoundException or DirectoryNotFoundException) { return null; }
    }
}
