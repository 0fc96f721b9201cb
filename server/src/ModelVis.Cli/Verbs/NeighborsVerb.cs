using System.CommandLine;
using ModelVis.Analysis;
using ModelVis.Models;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>neighbors --model DIR --token TEXT [--k 10] [--matrix embed|unembed] --json</c>: the tokens whose embedding
/// (or unembedding) rows have the largest cosine with the token's own row.
/// </summary>
static class NeighborsVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + weights) or a GGUF file", Required = true };
        var token = new Option<string>("--token") { Description = "A vocabulary entry (\"Ġthe\") or text that is one token (\" the\")", Required = true };
        var k = new Option<int>("--k") { Description = "How many neighbours", DefaultValueFactory = _ => 10 };
        var matrix = new Option<string>("--matrix") { Description = "embed (the input embedding) or unembed (the output head)", DefaultValueFactory = _ => "embed" };
        matrix.AcceptOnlyFromAmong("embed", "unembed");
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("neighbors", "Nearest tokens by cosine similarity in the token embedding or unembedding") { model, token, k, matrix, json };
        cmd.SetAction(parse =>
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var tokenizer = ModelTokenizer.Open(dir);
            int id = tokenizer.SingleTokenId(parse.GetValue(token)!);
            using var lm = ModelLoader.Load(dir);
            var which = parse.GetValue(matrix) == "unembed" ? TokenMatrix.Unembedding : TokenMatrix.Embedding;
            var nearest = TokenNeighbors.Nearest(lm, which, id, parse.GetValue(k));
            string Token(int t) => tokenizer.IdToToken(t) ?? t.ToString();
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { token = Token(id), id, neighbors = nearest.Select(n => new { id = n.Id, token = Token(n.Id), cosine = n.Cosine }).ToArray() });
            else
            {
                Console.WriteLine($"{Token(id)} ({id})");
                foreach (var n in nearest) Console.WriteLine($"{n.Cosine,8:F4}  {n.Id,7}  {Token(n.Id)}");
            }
            return 0;
        });
        return cmd;
    }
}
