using ModelVis.Analysis.Attribution;
using ModelVis.Models;
using ModelVis.Models.Differentiable;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>
/// Integrated gradients with 64 steps of one logit of the random GPT-2-small at 128 tokens, timed in ModelVis
/// (<see cref="TokenAttribution"/> on the autodiff tape, what the CLI's <c>attribute --method ig</c> runs) beside the same
/// computation in PyTorch autograd (bench/attribution/torch_ig.py, the steps batched as Captum does), in the same run,
/// both on 2 threads. Both must give the same scores: the report prints the largest difference.
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- attribution [--reps N] [--no-torch]</code>
/// </summary>
public static class AttributionReport
{
    const int Tokens = 128, Steps = 64, Threads = 2;

    public static int Run(string[] args)
    {
        int reps = Timing.Reps(args);
        bool noTorch = args.Contains("--no-torch");
        Parallelism.Threads = Threads;
        var dir = EngineModels.Gpt2Small();

        var rng = new Random(17);
        using var engine = ModelLoader.Load(dir);
        using var model = DifferentiableModel.Load(dir);
        var input = new ForwardInput(Enumerable.Range(0, Tokens).Select(_ => rng.Next(engine.Config.Vocab)).ToArray());
        var target = AttributionTarget.Resolve(engine, input, null, null, null);

        TokenAttribution.Run(model, input, target, AttributionMethod.IntegratedGradients, steps: 1);   // warm up the JIT
        var (median, mine) = Timing.Time(reps, () => TokenAttribution.Run(model, input, target, AttributionMethod.IntegratedGradients, Steps));
        var k = mine.Completeness!;

        Console.WriteLine($"# ModelVis attribution benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Threads} threads, kernels {MatMul.Path})");
        Console.WriteLine();
        Console.WriteLine($"Random GPT-2-small ({engine.Config.Layers} × {engine.Config.Hidden}, {engine.Config.Heads} heads, vocab {engine.Config.Vocab:N0}), {Tokens} random ids; " +
                          $"integrated gradients of logit[{target.Position}, {target.Target}] (the prediction), {Steps} middle-rule steps from the zero baseline. " +
                          $"ModelVis completeness: Σ IG {k.SumOfAttributions:F5} vs f(x) − f(0) {k.Difference:F5} (relative error {k.RelativeError:E2}). Median of {reps} runs each.");
        Console.WriteLine();

        string torchCells, diffLine;
        string why = "--no-torch";
        var torch = noTorch ? null : RunTorch(dir, input.Ids, target, reps, out why);
        if (torch is null) { torchCells = $"{why} | -"; diffLine = "scores not compared (no PyTorch run)"; }
        else
        {
            double tm = EngineReport.Median(torch.Value.Times);
            torchCells = $"{tm:F2} | {tm / median:F2}×";
            double scale = torch.Value.Scores.Max(Math.Abs), max = 0;
            for (int i = 0; i < Tokens; i++) max = Math.Max(max, Math.Abs(mine.Scores[i] - torch.Value.Scores[i]));
            diffLine = $"max |ModelVis − PyTorch| over the {Tokens} scores: {max:E2} = {max / scale:E2} of the largest score ({(max <= 1e-3 * scale ? "within" : "OVER")} 1e-3); " +
                       $"PyTorch Σ IG {torch.Value.Sum:F5} vs f(x) − f(0) {torch.Value.Difference:F5}";
            if (max > 1e-3 * scale) Console.Error.WriteLine("warning: the two score vectors differ by more than 1e-3 of the largest");
        }
        Console.WriteLine($"| integrated gradients ({Steps} steps = {Steps} forward + backward passes, + f(x) and f(0)) | ModelVis median s | ms per step | PyTorch autograd median s | PyTorch time / ModelVis time |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| GPT-2-small, {Tokens} tokens, {Threads} threads | {median:F2} | {1000 * median / Steps:F0} | {torchCells} |");
        Console.WriteLine();
        Console.WriteLine(diffLine);
        Console.WriteLine("Both run every step through the whole model and unembed only the target row of the explained position; " +
                          "PyTorch takes all 64 steps as one batch (Captum's default), ModelVis as many passes per tape as fit 256 MB.");
        return 0;
    }

    readonly record struct TorchResult(double[] Times, double[] Scores, double Sum, double Difference);

    static TorchResult? RunTorch(string dir, int[] ids, AttributionTarget target, int reps, out string why)
    {
        using var doc = EngineReport.RunPython(Path.Combine("bench", "attribution", "torch_ig.py"),
            ["--model", dir, "--ids", string.Join(",", ids), "--position", target.Position.ToString(), "--target", target.Target.ToString(),
             "--steps", Steps.ToString(), "--reps", reps.ToString(), "--threads", Threads.ToString()], out why);
        if (doc is null) return null;
        var r = doc.RootElement;
        return new TorchResult(
            r.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("scores").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("sum").GetDouble(), r.GetProperty("difference").GetDouble());
    }
}
