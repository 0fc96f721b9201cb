using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>
/// The engine's benchmark report, in one run: the machine's FMA peak (measured here), matmul GFLOP/s, and
/// forward passes with capture (GPT-2-small at 128 and 1,024 tokens, a 135 M Llama at 2,048), each in a fresh
/// child process so its peak memory is its own, beside the same forward pass in PyTorch (bench/engine/torch_forward.py).
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- engine [--quick] [--no-torch]</code>
/// Forward passes are timed directly (median of several) rather than through BenchmarkDotNet: one pass takes
/// seconds, and the comparison with PyTorch must happen in the same run.
/// </summary>
public static class EngineReport
{
    sealed record Case(string Name, Func<string> Model, int Tokens, string Capture, int Reps);
    sealed record Measured(double[] Times, double PeakMb, double LoadedMb);

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick"), noTorch = args.Contains("--no-torch");
        Console.WriteLine($"# ModelVis engine benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Parallelism.Threads} threads, kernels {MatMul.Path}, Vector512 {Vector512.IsHardwareAccelerated})");
        Console.WriteLine();

        double peak1 = FmaPeak(1), peak2 = FmaPeak(2);
        Console.WriteLine($"FMA peak (independent Vector512 FMAs): {peak1:F0} GFLOP/s on one core, {peak2:F0} GFLOP/s on two");
        Console.WriteLine();

        Console.WriteLine("| matmul (m × k × n, B packed) | median ms | GFLOP/s | % of 2-core peak |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (m, k, n) in new[] { (128, 768, 3072), (1024, 768, 3072), (1024, 3072, 768), (2048, 576, 1536), (128, 768, 50257) })
        {
            double ms = MatMulMedianMs(m, k, n, quick ? 3 : 7);
            double gflops = 2.0 * m * k * n / (ms * 1e6);
            Console.WriteLine($"| {m} × {k} × {n} | {ms:F2} | {gflops:F0} | {100 * gflops / peak2:F0} % |");
        }
        Console.WriteLine();

        var cases = new[]
        {
            new Case("GPT-2 small, 128 tokens, full capture", EngineModels.Gpt2Small, 128, "full", quick ? 3 : 7),
            new Case("GPT-2 small, 1,024 tokens, full capture", EngineModels.Gpt2Small, 1024, "full", quick ? 2 : 3),
            new Case("Llama 135M, 2,048 tokens, hidden+logits+attn L0", EngineModels.Llama135M, 2048, "hidden", quick ? 1 : 3),
        };
        Console.WriteLine("| forward pass | ModelVis median s | tokens/s | GFLOP/s (% of peak) | peak RSS MB (after load) | PyTorch median s | PyTorch peak RSS MB | PyTorch time / ModelVis time |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var c in cases)
        {
            var dir = c.Model();
            var mine = RunChild(dir, c.Tokens, c.Capture, c.Reps);
            double flops = ForwardFlops(dir, c.Tokens);
            double median = Median(mine.Times);
            string torchCells = "not run | - | -";
            if (!noTorch)
            {
                var torch = RunTorch(dir, c.Tokens, c.Capture, c.Reps, out var why);
                torchCells = torch is null ? $"{why} | - | -" : $"{Median(torch.Times):F3} | {torch.PeakMb:F0} | {Median(torch.Times) / median:F2}×";
            }
            Console.WriteLine($"| {c.Name} | {median:F3} | {c.Tokens / median:F0} | {flops / median / 1e9:F0} ({100 * flops / median / 1e9 / peak2:F0} %) | {mine.PeakMb:F0} ({mine.LoadedMb:F0}) | {torchCells} |");
        }
        Console.WriteLine();
        Console.WriteLine("GFLOP/s counts the dense work of the pass as PyTorch does it (every linear layer, the head, and full n×n attention products).");
        return 0;
    }

    // ---------------------------------------------------------------- the child process: one model, one length

    /// <summary><c>engine-forward DIR TOKENS CAPTURE REPS</c>: loads, warms up, times REPS passes, prints JSON on stdout.</summary>
    public static int Child(string[] args)
    {
        string dir = args[1];
        int tokens = int.Parse(args[2]), reps = int.Parse(args[4]);
        string capture = args[3];
        using var model = ModelLoader.Load(dir);
        GC.Collect();
        double loadedMb = Rss().Current;
        var rng = new Random(7);
        var ids = Enumerable.Range(0, tokens).Select(_ => rng.Next(model.Config.Vocab)).ToArray();
        var request = capture == "full"
            ? new CaptureRequest(Enumerable.Range(0, model.Config.Layers).ToHashSet(), HiddenStates: true, Logits: true)
            : new CaptureRequest(new HashSet<int> { 0 }, HiddenStates: true, Logits: true);
        var input = new ForwardInput(ids);
        var times = new List<double>();
        for (int r = 0; r <= reps; r++)
        {
            var sw = Stopwatch.StartNew();
            var result = model.Forward(input, request);
            double s = sw.Elapsed.TotalSeconds;
            if (r > 0) times.Add(s); // the first pass warms up the JIT
            GC.KeepAlive(result);
            result = null;
            GC.Collect();
        }
        Console.WriteLine(JsonSerializer.Serialize(new { times, peak_mb = Rss().Peak, loaded_mb = loadedMb }));
        return 0;
    }

    static Measured RunChild(string dir, int tokens, string capture, int reps)
    {
        var psi = Self("engine-forward", dir, tokens.ToString(), capture, reps.ToString());
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"engine-forward failed ({p.ExitCode}): {output}");
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var r = doc.RootElement;
        return new Measured(r.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray(), r.GetProperty("peak_mb").GetDouble(), r.GetProperty("loaded_mb").GetDouble());
    }

    /// <summary>This benchmark program run again as a child process with <paramref name="args"/>, stdout redirected.</summary>
    internal static ProcessStartInfo Self(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        // Under `dotnet run` the process is the app host; under `dotnet ModelVis.Bench.dll` it is dotnet itself.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(EngineReport).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    static Measured? RunTorch(string dir, int tokens, string capture, int reps, out string why)
    {
        using var doc = RunPython(Path.Combine("bench", "engine", "torch_forward.py"),
            ["--model", dir, "--tokens", tokens.ToString(), "--capture", capture, "--reps", reps.ToString(), "--threads", "2"], out why);
        if (doc is null) return null;
        var r = doc.RootElement;
        return new Measured(r.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray(), r.GetProperty("peak_mb").GetDouble(), r.GetProperty("loaded_mb").GetDouble());
    }

    /// <summary>
    /// Runs a PyTorch script of the repository (<paramref name="relative"/> to its root) with the system python3 and parses
    /// the last line of its stdout as JSON; null with <paramref name="why"/> set when it is missing or fails (exit 3: no torch).
    /// </summary>
    internal static JsonDocument? RunPython(string relative, IEnumerable<string> args, out string why)
    {
        why = "";
        var script = FindFile(relative);
        if (script is null) { why = "script not found"; return null; }
        // Debian's python3-torch lives in the system interpreter, which a pyenv or venv python3 on PATH would hide.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var err = errTask.Result;
        if (p.ExitCode != 0)
        {
            why = p.ExitCode == 3 ? "torch missing: apt-get install -y python3-torch libopenblas0-pthread" : $"failed ({err.Trim().Split('\n')[^1]})";
            return null;
        }
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]);
    }

    /// <summary>A file of the repository (<paramref name="relative"/> to its root), found upward from the program or the current folder.</summary>
    internal static string? FindFile(string relative)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, relative);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    // ---------------------------------------------------------------- measurements

    /// <summary>The dense FLOPs of a forward pass: 2·n·(linear parameters + head) + 4·n²·(heads·head_dim) per layer.</summary>
    static double ForwardFlops(string dir, int n)
    {
        var c = ModelConfig.FromFolder(dir);
        double d = c.Hidden, q = c.Heads * c.HeadDim, kv = c.KvHeads * c.HeadDim, I = c.Intermediate;
        double perLayer = d * (q + 2 * kv) + q * d + (c.Family is ModelFamily.Gpt2 or ModelFamily.Bert or ModelFamily.GptNeoX ? 2 * d * I : 3 * d * I);
        double linear = 2.0 * n * (c.Layers * perLayer + d * c.Vocab);
        double attention = c.Layers * 4.0 * n * n * q;
        return linear + attention;
    }

    static double MatMulMedianMs(int m, int k, int n, int reps)
    {
        var rng = new Random(3);
        var a = new float[m * k];
        var w = new float[n * k];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextDouble();
        var b = PackedMatrix.FromTransposed(w, n, k);
        var c = new float[(long)m * n];
        MatMul.Multiply(a, m, b, c);
        var times = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            MatMul.Multiply(a, m, b, c);
            times[r] = sw.Elapsed.TotalMilliseconds;
        }
        return Median(times);
    }

    /// <summary>GFLOP/s of a loop of independent 512-bit FMAs (12 chains, the micro-kernel's shape) on <paramref name="threads"/> threads.</summary>
    public static double FmaPeak(int threads)
    {
        const int iterations = 20_000_000;
        double best = 0;
        for (int trial = 0; trial < 3; trial++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => FmaLoop(iterations, t));
            double s = sw.Elapsed.TotalSeconds;
            best = Math.Max(best, threads * (double)iterations * 12 * 16 * 2 / s / 1e9);
        }
        return best;
    }

    static float FmaLoop(int iterations, int seed)
    {
        var x = Vector512.Create(1.0000001f + seed);
        var y = Vector512.Create(0.9999999f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, y, x); a1 = Vector512.FusedMultiplyAdd(a1, y, x);
            a2 = Vector512.FusedMultiplyAdd(a2, y, x); a3 = Vector512.FusedMultiplyAdd(a3, y, x);
            a4 = Vector512.FusedMultiplyAdd(a4, y, x); a5 = Vector512.FusedMultiplyAdd(a5, y, x);
            a6 = Vector512.FusedMultiplyAdd(a6, y, x); a7 = Vector512.FusedMultiplyAdd(a7, y, x);
            a8 = Vector512.FusedMultiplyAdd(a8, y, x); a9 = Vector512.FusedMultiplyAdd(a9, y, x);
            a10 = Vector512.FusedMultiplyAdd(a10, y, x); a11 = Vector512.FusedMultiplyAdd(a11, y, x);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector512.Sum(s);
    }

    /// <summary>Current and peak resident memory of this process in MB (Linux /proc; the working set elsewhere).</summary>
    internal static (double Current, double Peak) Rss()
    {
        try
        {
            double cur = 0, peak = 0;
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:")) cur = ParseKb(line);
                else if (line.StartsWith("VmHWM:")) peak = ParseKb(line);
            }
            return (cur, peak);
        }
        catch (IOException)
        {
            using var p = Process.GetCurrentProcess();
            return (p.WorkingSet64 / 1048576.0, p.PeakWorkingSet64 / 1048576.0);
        }
        static double ParseKb(string line) => double.Parse(line.Split(':')[1].Trim().Split(' ')[0]) / 1024.0;
    }

    internal static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
