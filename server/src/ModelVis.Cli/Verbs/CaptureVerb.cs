using System.CommandLine;
using System.Diagnostics;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>capture --model DIR (--text TEXT | --ids 1,2,3) [--mask 1,1,0] [--token-types 0,0,1] [--decoder-ids 0,5,6 | --decoder-text TEXT]
/// [--what attentions,hidden_states,logits] --out FILE.safetensors [--json]</c>: one forward pass, its tensors written under the
/// reference names (input_ids I64, logits [n, vocab], hidden_states.{k} [n, d], attentions.{l} [heads, n, n], mlp_activations.{l}).
/// An encoder-decoder (T5) takes the text or ids as the encoder's input and writes Hugging Face's names: decoder_input_ids,
/// encoder_/decoder_hidden_states.{k}, encoder_/decoder_attentions.{l}, cross_attentions.{l} [heads, n_decoder, n_encoder].
/// </summary>
static class CaptureVerb
{
    public static Command Create()
    {
        var source = new ModelInputOptions();
        var mask = new Option<string?>("--mask") { Description = "Attention mask, comma-separated 1/0 (0 = padding), as HF attention_mask" };
        var types = new Option<string?>("--token-types") { Description = "Token type (segment) ids for BERT-style models, comma-separated" };
        var decoderIds = new Option<string?>("--decoder-ids") { Description = "Encoder-decoder models: the decoder's input ids, comma-separated (starting with decoder_start_token_id)" };
        var decoderText = new Option<string?>("--decoder-text") { Description = "Encoder-decoder models: the decoder's input as text (decoder_start_token_id is put first)" };
        var what = new Option<string>("--what") { Description = "What to keep: attentions, hidden_states, logits, mlp_activations", DefaultValueFactory = _ => "attentions,hidden_states,logits" };
        var output = new Option<string>("--out") { Description = "Output .safetensors file", Required = true };
        var json = new Option<bool>("--json") { Description = "Summary as JSON on stdout" };
        var cmd = new Command("capture", "Run a language model once and save its attentions, hidden states and logits to safetensors")
            { mask, types, decoderIds, decoderText, what, output, json };
        source.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var dir = source.Folder(parse);
            var input = ReadInput(dir, parse.GetValue(source.Text), parse.GetValue(source.Ids), parse.GetValue(mask), parse.GetValue(types));

            var load = Stopwatch.StartNew();
            using var lm = ModelLoader.Load(dir);
            Console.Error.WriteLine($"loaded {lm.Config.ModelType} ({lm.Config.Layers} layers, {lm.Config.Hidden} wide) in {load.Elapsed.TotalSeconds:F1} s");
            input = WithDecoderInput(lm, dir, input, parse.GetValue(decoderIds), parse.GetValue(decoderText));
            var request = CaptureRequest.Parse(parse.GetValue(what)!, lm.Config.Layers, lm.Config.EncoderLayers);

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
            if (input.DecoderIds is not null) names.Add("decoder_input_ids");
            if (input.AttentionMask is not null) names.Add("attention_mask");
            if (input.TokenTypeIds is not null) names.Add("token_type_ids");
            names.AddRange(result.Named().Select(p => p.Key));
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { output = path, tokens = input.Length, decoderTokens = input.DecoderIds?.Length, seconds, tensors = names });
            else
                Console.WriteLine($"{path}: {names.Count} tensors for {input.Length} tokens{(input.DecoderIds is { } dec ? $" and {dec.Length} decoder tokens" : "")} ({seconds:F2} s)");
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

    /// <summary>How many tokens the greedy continuation has when an encoder-decoder is given no decoder input.</summary>
    internal const int DefaultDecoderTokens = 8;

    /// <summary>
    /// An encoder-decoder's decoder input: --decoder-ids as given, or decoder_start_token_id then --decoder-text's tokens,
    /// or else decoder_start_token_id then the model's own greedy continuation of the input (said on stderr).
    /// Decoder-only models refuse both options.
    /// </summary>
    internal static ForwardInput WithDecoderInput(LanguageModel lm, string dir, ForwardInput input, string? ids, string? text)
    {
        if (ids is not null && text is not null) throw new ModelException("give at most one of --decoder-ids or --decoder-text");
        if (!lm.Config.IsEncoderDecoder)
        {
            if (ids is not null || text is not null)
                throw new ModelException($"--decoder-ids and --decoder-text are for encoder-decoder models; {lm.Config.ModelType} is not one");
            return input;
        }
        int start = lm.Config.DecoderStartTokenId;
        int[] decoder;
        if (ids is not null) decoder = ParseInts(ids, "--decoder-ids");
        else if (text is not null) decoder = [start, .. ModelTokenizer.Open(dir).Encode(text).Ids];
        else
        {
            var greedy = lm.Generate(input.Ids, DefaultDecoderTokens);
            decoder = [start, .. greedy];
            Console.Error.WriteLine($"no --decoder-ids or --decoder-text: the decoder input is decoder_start_token_id {start} and the model's greedy continuation ({greedy.Length} tokens): {string.Join(",", decoder)}");
        }
        return input with { DecoderIds = decoder };
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
