using System.CommandLine;
using ModelVis.Training;
using ModelVis.Analysis.Circuits;
using ModelVis.Training.Data;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>train --out DIR [--corpus PATH...] [--steps N] [--seed S]</c>: trains the built-in recipe (a small Llama and
/// its byte-level BPE) on the given files or folders, or on the project's own sources, and saves it in Hugging Face
/// layout. Progress bar on stderr; a JSON summary (losses, induction and previous-token heads) on stdout.
/// </summary>
static class TrainVerb
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder to write config.json, model.safetensors, tokenizer.json into", Required = true };
        var corpus = new Option<string[]>("--corpus") { Description = "Text files or folders to train on (default: ModelVis' own sources)", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => TrainOptions.BuiltinDefault.Steps };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same model)", DefaultValueFactory = _ => BuiltinModel.DefaultSeed };
        var cmd = new Command("train", "Train a tiny Llama model (and its tokenizer) on text, saved in Hugging Face layout") { output, corpus, steps, seed };
        cmd.SetAction((parse, cancel) =>
        {
            var dir = Path.GetFullPath(parse.GetValue(output)!);
            var paths = parse.GetValue(corpus) ?? [];
            var texts = paths.Length > 0 ? Corpus.FromPaths(paths) : Corpus.ProjectSources();
            var options = TrainOptions.BuiltinDefault with { Steps = parse.GetValue(steps), Seed = parse.GetValue(seed) };
            var trained = Trainer.Train(texts, options, dir, CliRunner.ProgressReporter, cancel);
            // The standard probe: blocks of 24 ids drawn from the whole vocabulary, repeated; the control repeats nothing.
            var scores = RepeatedTokenProbe.Measure(trained.Model, span: 24, batch: 16);
            var control = RepeatedTokenProbe.Measure(trained.Model, span: 24, batch: 16, repeated: false);
            var (il, ih, iscore) = HeadDetectorScores.Best(scores.Induction);
            var (pl, ph, pscore) = HeadDetectorScores.Best(scores.PreviousToken);
            var r = trained.Result;
            CliRunner.WriteJson(new
            {
                @out = dir,
                r.Steps,
                r.Parameters,
                r.CorpusTokens,
                r.FinalTrainLoss,
                r.EvalLoss,
                r.UnigramEntropy,
                r.Seconds,
                r.WarmStartSteps,
                r.CircuitFormedAt,
                r.CommonWordsWhole,
                r.CommonWordsSplit,
                inductionHead = new { layer = il, head = ih, score = iscore, withoutRepeat = control.Induction[il][ih] },
                previousTokenHead = new { layer = pl, head = ph, score = pscore },
            });
            return Task.FromResult(0);
        });
        return cmd;
    }
}
