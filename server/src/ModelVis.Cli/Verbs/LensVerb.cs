using System.CommandLine;
using ModelVis.Analysis;
using ModelVis.Models;
using ModelVis.Tokenizers;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>lens --model DIR (--text TEXT | --ids 1,2,3) --top K --json</c>: the logit lens. <c>layers[k]</c> reads
/// hidden_states.k through the final norm (k &lt; L) and the unembedding; <c>layers[L]</c> is the model's own output.
/// </summary>
static class LensVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + weights) or a GGUF file", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tokenize with the model's tokenizer" };
        var ids = new Option<string?>("--ids") { Description = "Token ids, comma-separated" };
        var top = new Option<int>("--top") { Description = "Next tokens per layer and position", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("lens", "Logit lens: the top next tokens every layer would predict, at every position") { model, text, ids, top, json };
        cmd.SetAction(parse =>
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var input = CaptureVerb.ReadInput(dir, parse.GetValue(text), parse.GetValue(ids));
            using var lm = ModelLoader.Load(dir);
            var tokenizer = TryTokenizer(dir);
            var capture = lm.Forward(input, new CaptureRequest(HiddenStates: true, Logits: false));
            var lens = LogitLens.Compute(lm, capture.HiddenStates!.Select(t => t.Data).ToList(), input.Ids, parse.GetValue(top));
            string Token(int id) => tokenizer?.IdToToken(id) ?? id.ToString();
            var layers = lens.Top.Select(layer => layer.Select(pos => pos.Select(tp => new { id = tp.Id, token = Token(tp.Id), prob = tp.Prob }).ToArray()).ToArray()).ToArray();
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { ids = input.Ids, tokens = input.Ids.Select(Token).ToArray(), layers });
            else
            {
                for (int i = 0; i < input.Length; i++)
                {
                    Console.Write($"{i,4} {Token(input.Ids[i]),-14}");
                    for (int k = 0; k < lens.Layers; k++) Console.Write($" | {Token(lens.Top[k][i][0].Id),-10} {lens.Top[k][i][0].Prob,5:F2}");
                    Console.WriteLine();
                }
            }
            return 0;
        });
        return cmd;
    }

    internal static Tokenizer? TryTokenizer(string dir)
    {
        try { return ModelTokenizer.Open(dir); }
        catch (TokenizerException) { return null; }
    }
}
