using System.Text.Json;
using ModelVis.Analysis.Circuits;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>
/// Residual-stream activation patching over every layer and position of the random GPT-2-small (12 × 64 patched runs
/// at 64 tokens), timed in ModelVis (<see cref="ActivationPatching"/>, what the CLI's <c>patch</c> verb runs) beside the
/// same sweep in PyTorch with forward pre-hooks on the blocks (bench/patching/torch_patching.py), in the same run, both
/// on 2 threads. Both must give the same recovered-fraction matrix: the report prints the largest difference.
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- patching [--reps N] [--no-torch]</code>
/// </summary>
public static class PatchingReport
{
    const int Tokens = 64, Threads = 2;
    static readonly int[] CorruptedPositions = [7, 23, 41, 62];

    public static int Run(string[] args)
    {
        int reps = Timing.Reps(args);
        bool noTorch = args.Contains("--no-torch");
        Parallelism.Threads = Threads;
        var dir = EngineModels.Gpt2Small();

        var rng = new Random(7);
        using var model = ModelLoader.Load(dir);
        int vocab = model.Config.Vocab, layers = model.Config.Layers;
        var clean = Enumerable.Range(0, Tokens).Select(_ => rng.Next(vocab)).ToArray();
        var corrupt = (int[])clean.Clone();
        foreach (var p in CorruptedPositions) corrupt[p] = (clean[p] + 1 + rng.Next(vocab - 1)) % vocab;

        // Warm up the JIT: the two cached runs and one patched run.
        new ActivationPatching(model, clean, corrupt).PatchResidual(layers - 1, [Tokens - 1]);
        var (median, mine) = Timing.Time(reps, () => new ActivationPatching(model, clean, corrupt).Sweep(resid: true, heads: false));

        Console.WriteLine($"# ModelVis activation-patching benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Threads} threads, kernels {MatMul.Path})");
        Console.WriteLine();
        Console.WriteLine($"Random GPT-2-small ({layers} × {model.Config.Hidden}, {model.Config.Heads} heads, vocab {vocab:N0}), {Tokens} random ids; corrupted at positions {string.Join(", ", CorruptedPositions)}. " +
                          $"t_clean {mine.TClean}, t_corrupt {mine.TCorrupt}: metric clean {mine.MetricClean:F4}, corrupted {mine.MetricCorrupted:F4}. Median of {reps} sweeps each.");
        Console.WriteLine();

        string torchCells, diffLine;
        string why = "--no-torch";
        var torch = noTorch ? null : RunTorch(dir, clean, corrupt, mine.TClean, mine.TCorrupt, reps, out why);
        if (torch is null) { torchCells = $"{why} | -"; diffLine = "recovered-fraction matrices not compared (no PyTorch run)"; }
        else
        {
            double tm = EngineReport.Median(torch.Value.Times);
            torchCells = $"{tm:F2} | {tm / median:F2}×";
            double max = 0;
            for (int l = 0; l < layers; l++)
                for (int p = 0; p < Tokens; p++) max = Math.Max(max, Math.Abs(mine.Resid![l][p] - torch.Value.Resid[l][p]));
            diffLine = $"max |ModelVis − PyTorch| over the {layers} × {Tokens} recovered-fraction matrix: {max:E2} ({(max <= 1e-3 ? "within" : "OVER")} 1e-3); " +
                       $"PyTorch metric clean {torch.Value.MetricClean:F4}, corrupted {torch.Value.MetricCorrupted:F4}";
            if (max > 1e-3) Console.Error.WriteLine("warning: the two recovered-fraction matrices differ by more than 1e-3");
        }
        int runs = layers * Tokens;
        Console.WriteLine($"| residual patching sweep ({layers} layers × {Tokens} positions = {runs} patched runs) | ModelVis median s | ms per patched run | PyTorch (pre-hooks) median s | PyTorch time / ModelVis time |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| GPT-2-small, {Tokens} tokens, {Threads} threads | {median:F2} | {1000 * median / runs:F1} | {torchCells} |");
        Console.WriteLine();
        Console.WriteLine(diffLine);
        Console.WriteLine("Each sweep includes the clean and the corrupted run. ModelVis resumes each patched run at the patched layer from the cached corrupted residual " +
                          "and unembeds only the last position; the PyTorch loop runs the whole model each time, as a hook-based loop does.");
        return 0;
    }

    readonly record struct TorchResult(double[] Times, double[][] Resid, double MetricClean, double MetricCorrupted);

    static TorchResult? RunTorch(string dir, int[] clean, int[] corrupt, int tClean, int tCorrupt, int reps, out string why)
    {
        using var doc = EngineReport.RunPython(Path.Combine("bench", "patching", "torch_patching.py"),
            ["--model", dir, "--clean", string.Join(",", clean), "--corrupt", string.Join(",", corrupt),
             "--target", tClean.ToString(), "--contrast", tCorrupt.ToString(), "--reps", reps.ToString(), "--threads", Threads.ToString()], out why);
        if (doc is null) return null;
        var r = doc.RootElement;
        return new TorchResult(
            r.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("resid").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray(),
            r.GetProperty("metric_clean").GetDouble(), r.GetProperty("metric_corrupted").GetDouble());
    }
}
