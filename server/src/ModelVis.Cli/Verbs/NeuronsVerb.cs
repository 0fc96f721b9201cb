using System.CommandLine;
using ModelVis.Analysis;
using ModelVis.Host.Handlers;
using ModelVis.Models;

namespace ModelVis.Cli.Verbs;

/// <summary><c>neurons --model DIR (--text TEXT | --ids …) --layer L --top 20 --json</c>: the MLP neurons most active on the text.</summary>
static class NeuronsVerb
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + weights) or a GGUF file", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tokenize with the model's tokenizer" };
        var ids = new Option<string?>("--ids") { Description = "Token ids, comma-separated" };
        var layer = new Option<int>("--layer") { Description = "Layer (0-based)", Required = true };
        var top = new Option<int>("--top") { Description = "How many neurons", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("neurons", "The MLP neurons of a layer most active on a text, with their activation on every token") { model, text, ids, layer, top, json };
        cmd.SetAction(parse =>
        {
            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var input = CaptureVerb.ReadInput(dir, parse.GetValue(text), parse.GetValue(ids));
            using var lm = ModelLoader.Load(dir);
            int l = parse.GetValue(layer), n = input.Length, m = lm.Config.Intermediate;
            if ((uint)l >= (uint)lm.Config.Layers) throw new ModelException($"--layer {l}: the model has layers 0..{lm.Config.Layers - 1}");
            var act = lm.Forward(input, new CaptureRequest(null, HiddenStates: false, Logits: false, MlpActivations: true)).MlpActivations[l].Data;
            var tokenizer = LensVerb.TryTokenizer(dir);
            string Token(int id) => tokenizer?.IdToToken(id) ?? id.ToString();
            var neurons = NeuronRanking.Top(act, n, m, Math.Clamp(parse.GetValue(top), 1, m)).Select(s => new
            {
                neuron = s.Neuron, max = s.Max, mean = s.Mean, argMax = s.ArgMax,
                activations = Enumerable.Range(0, n).Select(i => act[i * m + s.Neuron]).ToArray(),
            }).ToArray();
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { ids = input.Ids, tokens = input.Ids.Select(Token).ToArray(), layer = l, intermediate = m, neurons });
            else
                foreach (var s in neurons) Console.WriteLine($"neuron {s.neuron,5}  max {s.max,8:F3} at {s.argMax} ({Token(input.Ids[s.argMax])})  mean {s.mean,8:F3}");
            return 0;
        });
        return cmd;
    }
}
