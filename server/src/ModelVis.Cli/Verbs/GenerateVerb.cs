using System.CommandLine;
using ModelVis.Models;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>generate --model DIR (--ids 1,2,3 | --text TEXT) --max-new N [--json]</c>: greedy decoding, a plain check that a
/// model is sane. Prints the new ids, then the decoded text when the folder has a tokenizer. For an encoder-decoder (T5)
/// the prompt is the encoder's input and the output the decoder's greedy text, without the prompt.
/// </summary>
static class GenerateVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder (config.json + weights) or a GGUF file", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Prompt token ids, comma-separated" };
        var text = new Option<string?>("--text") { Description = "Prompt text (needs the model's tokenizer)" };
        var maxNew = new Option<int>("--max-new") { Description = "How many tokens to generate", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Result as JSON on stdout" };
        var cmd = new Command("generate", "Greedy generation from a causal language model, or an encoder-decoder's output for the input") { model, ids, text, maxNew, json };
        cmd.SetAction(parse =>
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            int count = parse.GetValue(maxNew);
            if (count < 0) throw new ModelException("--max-new must be 0 or more");
            var prompt = CaptureVerb.ReadInput(dir, parse.GetValue(text), parse.GetValue(ids)).Ids;
            using var lm = ModelLoader.Load(dir);
            int done = 0;
            var generated = lm.Generate(prompt, count, default, _ => CliRunner.Progress(++done / (double)Math.Max(1, count), $"token {done}/{count}"));

            Tokenizer? tokenizer = null;
            try { tokenizer = ModelTokenizer.Open(dir); }
            catch (TokenizerException) { } // no tokenizer: ids only
            string? decoded = tokenizer?.Decode(lm.Config.IsEncoderDecoder ? generated : [.. prompt, .. generated]);

            if (parse.GetValue(json))
                CliRunner.WriteJson(new { promptIds = prompt, generatedIds = generated, text = decoded });
            else
            {
                Console.WriteLine(string.Join(",", generated));
                if (decoded is not null) Console.WriteLine(decoded);
            }
            return 0;
        });
        return cmd;
    }
}
