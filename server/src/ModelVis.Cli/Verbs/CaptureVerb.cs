using System.CommandLine;
using System.Diagnostics;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>capture --model DIR (--text TEXT | --ids 1,2,3) [--mask 1,1,0] [--token-types 0,0,1] [--what attentions,hidden_states,logits]
/// --out FILE.safetensors [--json]</c>: one forward pass, its tensors written under the reference names
/// (input_ids I64, logits [n, vocab], hidden_states.{k} [n, d], attentions.{l} [heads, n, n], mlp_activations.{l}).
/// </summary>
static class CaptureVerb
{
    public static Command Create()
    {
        var source = new ModelInputOptions();
        var mask = new Option<string?>("--mask") { Description = "Attention mask, comma-separated 1/0 (0 = padding), as HF attention_mask" };
        var types = new Option<string?>("--token-types") { Description = "Token type (segment) ids for BERT-style models, comma-separated" };
        var what = new Option<string>("--what") { Description = "What to keep: attentions, hidden_states, logits, mlp_activations", DefaultValueFactory = _ => "attentions,hidden_states,logits" };
        var output = new Option<string>("--out") { Description = "Output .safetensors file", Required = true };
        var json = new Option<bool>("--json") { Description = "Summary as JSON on stdout" };
        var cmd = new Command("capture", "Run a language model once and save its attentions, hidden states and logits to safetensors")
            { mask, types, what, output, json };
        source.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var dir = source.Folder(parse);
            var input = ReadInput(dir, parse.GetValue(source.Text), parse.GetValue(source.Ids), parse.GetValue(mask), parse.GetValue(types));

            var load = Stopwatch.StartNew();
            using var lm = ModelLoader.Load(dir);
            Console.Error.WriteLine($"loaded {lm.Config.ModelType} ({lm.Config.Layers} layers, {lm.Config.Hidden} wide) in {load.Elapsed.TotalSeconds:F1} s");
            var request = CaptureRequest.Parse(parse.GetValue(what)!, lm.Config.Layers);

            var run = Stopwatch.StartNew();
            var result = lm.Forward(input, request, default,
                layer => CliRunner.Progress((layer.Layer + 1.0) / lm.Config.Layers, $"layer {layer.Layer + 1}/{lm.Config.Layers}"));
            double seconds = run.Elapsed.TotalSeconds;

            var path = Path.GetFullPath(parse.GetValue(output)!);
            var writer = new SafetensorsWriter()
                .AddMetadata("model", Path.GetFileName(dir))
                .AddMetadata("model_type", lm.Config.ModelType)
                .AddMetadata("producer", "modelvis capture");
            result.AddTo(writer, input).Save(path);

            var names = new List<string> { "input_ids" };
            if (input.AttentionMask is not null) names.Add("attention_mask");
            if (input.TokenTypeIds is not null) names.Add("token_type_ids");
            names.AddRange(result.Named().Select(p => p.Key));
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { output = path, tokens = input.Length, seconds, tensors = names });
            else
                Console.WriteLine($"{path}: {names.Count} tensors for {input.Length} tokens ({seconds:F2} s)");
            return 0;
        });
        return cmd;
    }

    /// <summary>The ids from --ids, or from --text through the model folder's tokenizer; plus the optional mask and token types.</summary>
    internal static ForwardInput ReadInput(string dir, string? text, string? ids, string? mask = null, string? types = null,
        (string Text, string Ids)? what = null)
    {
        var (textOption, idsOption) = what ?? ("--text", "--ids");
        if ((text is null) == (ids is null)) throw new ModelException($"give exactly one of {textOption} or {idsOption}");
        int[] tokens = ids is not null
            ? ParseInts(ids, idsOption)
            : ModelTokenizer.Open(dir).Encode(text!).Ids;
        return new ForwardInput(tokens,
            mask is null ? null : ParseInts(mask, "--mask"),
            types is null ? null : ParseInts(types, "--token-types"));
    }

    internal static int[] ParseInts(string list, string option)
    {
        var parts = list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out values[i]))
                throw new ModelException($"{option}: \"{parts[i]}\" is not an integer (expected a comma-separated list such as 1,2,3)");
        if (values.Length == 0) throw new ModelException($"{option}: the list is empty");
        return values;
    }
}

/// <summary>The options of the verbs that run a language model on some tokens: the model folder, and --text or --ids.</summary>
sealed class ModelInputOptions
{
    public readonly Option<string> Model = new("--model") { Description = "Hugging Face model folder (config.json + weights) or a GGUF file", Required = true };
    public readonly Option<string?> Text = new("--text") { Description = "Text to run (needs the model's tokenizer)" };
    public readonly Option<string?> Ids = new("--ids") { Description = "Token ids, comma-separated (no tokenizer needed)" };

    public void AddTo(Command cmd)
    {
        cmd.Add(Model); cmd.Add(Text); cmd.Add(Ids);
    }

    public string Folder(ParseResult parse) => Path.GetFullPath(parse.GetValue(Model)!);
}
