using System.CommandLine;
using ModelVis.Analysis.Circuits;
using ModelVis.Models;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// The circuit tools (fixtures/README-interp.md, sections B–D):
/// <c>heads --model DIR [--ids … | --text … | --probe repeated --block T --seed S] --json</c> → {previous_token, induction, duplicate_token} [layer][head];
/// <c>dla --model DIR (--ids … | --text …) [--decoder-ids … | --decoder-text …] [--position P] [--target ID] [--contrast ID] --json</c>
/// → {heads, mlp, embed, rest, logit, parts_sum, residual, approximations} (+ cross_heads for T5);
/// <c>patch --model DIR (--clean TEXT | --clean-ids …) (--corrupt TEXT | --corrupt-ids …) [--target ID --contrast ID] --json</c> → {resid, heads, clean, corrupt}.
/// Progress goes to stderr; Ctrl+C cancels between forward passes.
/// </summary>
static class CircuitsVerbs
{
    static readonly Option<bool> Json = new("--json") { Description = "JSON on stdout" };

    public static Command Heads()
    {
        var io = new ModelInputOptions();
        var probe = new Option<string?>("--probe") { Description = "Score on a standard probe instead of the text: \"repeated\" (a random block of distinct ids repeated twice)" };
        var block = new Option<int>("--block") { Description = "Probe block length T", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { Description = "Probe seed", DefaultValueFactory = _ => 0 };
        var blocks = new Option<int>("--blocks") { Description = "Probe blocks to average", DefaultValueFactory = _ => 4 };
        var cmd = new Command("heads", "Head detectors: previous-token, induction and duplicate-token scores of every layer and head") { probe, block, seed, blocks, Json };
        io.AddTo(cmd);
        cmd.SetAction((parse, ct) => Task.Run(() =>
        {
            var dir = io.Folder(parse);
            using var lm = ModelLoader.Load(dir);
            HeadDetectorScores scores;
            if (parse.GetValue(probe) is { } kind)
            {
                if (kind != "repeated") throw new ModelException($"--probe {kind}: the probe is \"repeated\"");
                if (parse.GetValue(io.Text) is not null || parse.GetValue(io.Ids) is not null) throw new ModelException("give --probe or --text / --ids, not both");
                scores = HeadDetectors.Probe(lm, parse.GetValue(block), parse.GetValue(seed), parse.GetValue(blocks), Throttled(), ct);
            }
            else
            {
                var input = CaptureVerb.ReadInput(dir, parse.GetValue(io.Text), parse.GetValue(io.Ids));
                scores = HeadDetectors.Run(lm, input.Ids, ct);
            }
            if (parse.GetValue(Json))
                CliRunner.WriteJson(new Dictionary<string, double[][]>
                {
                    ["previous_token"] = scores.PreviousToken, ["induction"] = scores.Induction, ["duplicate_token"] = scores.DuplicateToken,
                });
            else
            {
                Console.WriteLine("layer head  previous  induction  duplicate");
                for (int l = 0; l < scores.Layers; l++)
                    for (int h = 0; h < scores.Heads; h++)
                        Console.WriteLine($"{l,5} {h,4}  {scores.PreviousToken[l][h],8:F4}  {scores.Induction[l][h],9:F4}  {scores.DuplicateToken[l][h],9:F4}");
            }
            return 0;
        }, ct));
        return cmd;
    }

    public static Command Dla()
    {
        var io = new ModelInputOptions();
        var position = new Option<int?>("--position") { Description = "Position to explain (default: the last)" };
        var target = new Option<int?>("--target") { Description = "Token id whose logit to explain (default: the model's prediction there)" };
        var contrast = new Option<int?>("--contrast") { Description = "Explain logit[target] − logit[contrast] instead" };
        var decoderIds = new Option<string?>("--decoder-ids") { Description = "Encoder-decoder models: the decoder's input ids (the position is a decoder position)" };
        var decoderText = new Option<string?>("--decoder-text") { Description = "Encoder-decoder models: the decoder's input as text" };
        var cmd = new Command("dla", "Direct logit attribution: each head's, MLP's and the embedding's share of a logit, the final norm's scale (and any post-attention norm's) frozen")
            { position, target, contrast, decoderIds, decoderText, Json };
        io.AddTo(cmd);
        cmd.SetAction((parse, ct) => Task.Run(() =>
        {
            var dir = io.Folder(parse);
            var input = CaptureVerb.ReadInput(dir, parse.GetValue(io.Text), parse.GetValue(io.Ids));
            using var lm = ModelLoader.Load(dir);
            input = CaptureVerb.WithDecoderInput(lm, dir, input, parse.GetValue(decoderIds), parse.GetValue(decoderText));
            var r = DirectLogitAttribution.Compute(lm, input, parse.GetValue(position), parse.GetValue(target), parse.GetValue(contrast), ct);
            if (parse.GetValue(Json))
            {
                var json = new Dictionary<string, object>
                {
                    ["heads"] = r.Heads, ["mlp"] = r.Mlp, ["embed"] = r.Embed, ["rest"] = r.Rest, ["logit"] = r.Logit,
                    ["parts_sum"] = r.Total, ["residual"] = r.Residual, ["approximations"] = r.Approximations,
                };
                if (r.CrossHeads is { } cross) json["cross_heads"] = cross;
                CliRunner.WriteJson(json);
            }
            else
            {
                Console.WriteLine($"position {r.Position}, target {r.Target}{(r.Contrast is { } c ? $" − {c}" : "")}: logit {r.Logit:F4}, parts {r.Total:F4} (residual {r.Residual:E2})");
                foreach (var note in r.Approximations) Console.WriteLine($"  {note}");
                Console.WriteLine($"embed {r.Embed:F4}   biases {r.Rest:F4}");
                for (int l = 0; l < r.Mlp.Length; l++)
                    Console.WriteLine($"layer {l,3}  mlp {r.Mlp[l],9:F4}  heads {string.Join(" ", r.Heads[l].Select(v => $"{v,8:F4}"))}"
                        + (r.CrossHeads is { } x ? $"  cross {string.Join(" ", x[l].Select(v => $"{v,8:F4}"))}" : ""));
            }
            return 0;
        }, ct));
        return cmd;
    }

    public static Command Patch()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder (config.json + weights) or a GGUF file", Required = true };
        var clean = new Option<string?>("--clean") { Description = "The clean text (needs the model's tokenizer)" };
        var cleanIds = new Option<string?>("--clean-ids") { Description = "The clean token ids, comma-separated" };
        var corrupt = new Option<string?>("--corrupt") { Description = "The corrupted text, as many tokens as the clean one" };
        var corruptIds = new Option<string?>("--corrupt-ids") { Description = "The corrupted token ids, comma-separated" };
        var target = new Option<int?>("--target") { Description = "The clean answer t_clean (default: the clean run's prediction at the last position)" };
        var contrast = new Option<int?>("--contrast") { Description = "The corrupted answer t_corrupt (default: the corrupted run's prediction, or its best other token)" };
        var cmd = new Command("patch", "Activation patching: how much of logit[t_clean] − logit[t_corrupt] each clean residual (layer × position) and head restores in the corrupted run")
            { model, clean, cleanIds, corrupt, corruptIds, target, contrast, Json };
        cmd.SetAction((parse, ct) => Task.Run(() =>
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var a = CaptureVerb.ReadInput(dir, parse.GetValue(clean), parse.GetValue(cleanIds), what: ("--clean", "--clean-ids")).Ids;
            var b = CaptureVerb.ReadInput(dir, parse.GetValue(corrupt), parse.GetValue(corruptIds), what: ("--corrupt", "--corrupt-ids")).Ids;
            using var lm = ModelLoader.Load(dir);
            var patching = new ActivationPatching(lm, a, b, parse.GetValue(target), parse.GetValue(contrast), ct);
            var r = patching.Sweep(progress: Throttled(), ct: ct);
            if (parse.GetValue(Json))
                CliRunner.WriteJson(new Dictionary<string, object>
                {
                    ["resid"] = r.Resid!, ["heads"] = r.Heads!, ["clean"] = r.MetricClean, ["corrupt"] = r.MetricCorrupted,
                });
            else
            {
                Console.WriteLine($"t_clean {r.TClean}, t_corrupt {r.TCorrupt}: metric clean {r.MetricClean:F4}, corrupted {r.MetricCorrupted:F4}");
                Console.WriteLine("residual (layer × position), recovered fraction:");
                for (int l = 0; l < r.Resid!.Length; l++) Console.WriteLine($"layer {l,3}  {string.Join(" ", r.Resid[l].Select(v => $"{v,6:F3}"))}");
                Console.WriteLine("heads (layer × head):");
                for (int l = 0; l < r.Heads!.Length; l++) Console.WriteLine($"layer {l,3}  {string.Join(" ", r.Heads[l].Select(v => $"{v,6:F3}"))}");
            }
            return 0;
        }, ct));
        return cmd;
    }

    /// <summary>Progress on stderr at most every 5% (a patching sweep is hundreds of passes).</summary>
    static IProgress<(double Fraction, string Message)> Throttled()
    {
        double last = -1;
        return new Reporter(p =>
        {
            if (p.Fraction < 1 && p.Fraction - last < 0.05) return;
            last = p.Fraction;
            CliRunner.Progress(p.Fraction, p.Message);
        });
    }

    sealed class Reporter(Action<(double Fraction, string Message)> report) : IProgress<(double Fraction, string Message)>
    {
        public void Report((double Fraction, string Message) value) => report(value);
    }
}
