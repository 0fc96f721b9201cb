using System.Diagnostics;
using System.Text.Json;
using ModelVis.Models;
using ModelVis.Tensors;
using static ModelVis.Bench.EngineReport;

namespace ModelVis.Bench;

/// <summary>
/// <c>models</c>: real-sized language models, in one run, one markdown table. A Llama-3.2-1B-shaped model (random
/// weights, written once by <see cref="LlamaModels"/>) as BF16 safetensors, as Q8_0 GGUF and as Q4_K GGUF, the BF16
/// one also through the float32-widening path (MODELVIS_WIDEN_WEIGHTS=1, the baseline), then an 8B-shaped model as
/// Q4_K at 512 tokens. Each file runs in a fresh child process (<c>models-case</c>), so its peak RSS (VmHWM) is its
/// own; llama.cpp's prompt processing of the same GGUF files (bench/models/llamacpp.mjs, npm node-llama-cpp) runs in
/// the same run, one process per file, with the same thread count.
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- models [--reps N] [--no-llamacpp] [--no-8b] [--only NAME,…] [--small]</code>
/// (<c>--small</c>: the same cases on a tiny model, to check the benchmark itself.)
/// </summary>
public static class ModelsReport
{
    const int Short = 512, Long = 2048;

    sealed record Case(string Name, string Label, Func<string> Path, bool Widen, bool Gguf, bool LongToo, int Reps);

    /// <summary>One child's measurements (also read by <see cref="FamiliesReport"/>).</summary>
    internal sealed class Mine
    {
        public double OpenS, FirstAttentionS, ColdS, OpenMb, Peak512Mb, PeakMb;
        public double[] Times512 = [], Times2048 = [], Cpu512 = [], Cpu2048 = [];
        public string? Error;
    }

    sealed class Theirs
    {
        public Dictionary<int, double[]> Times = new(), Cpu = new();
        public double PeakMb;
        public string? Version, Error;
    }

    public static int Run(string[] args)
    {
        int reps = Option(args, "--reps") is { } r ? int.Parse(r) : 3;
        bool llamaCpp = !args.Contains("--no-llamacpp"), big = !args.Contains("--no-8b");
        var only = Option(args, "--only")?.Split(',');
        bool small = args.Contains("--small");
        var (a, b) = small ? ("small", "small untied") : ("1B", "8B");
        var (one, eight) = small ? (LlamaShape.Small, LlamaShape.Small with { Name = "llama-small-untied", Tied = false }) : (LlamaShape.Llama1B, LlamaShape.Llama8B);
        var cases = new List<Case>
        {
            new("1b-bf16-widened", $"{a}, BF16 safetensors → float32 packed at load (baseline, MODELVIS_WIDEN_WEIGHTS=1)",
                () => LlamaModels.Ensure(one, LlamaModels.Storage.BF16), Widen: true, Gguf: false, LongToo: true, reps),
            new("1b-bf16", $"{a}, BF16 safetensors, kept as stored",
                () => LlamaModels.Ensure(one, LlamaModels.Storage.BF16), Widen: false, Gguf: false, LongToo: true, reps),
            new("1b-q8_0", $"{a}, Q8_0 GGUF",
                () => LlamaModels.Ensure(one, LlamaModels.Storage.Q8_0), Widen: false, Gguf: true, LongToo: true, reps),
            new("1b-q4_k", $"{a}, Q4_K GGUF",
                () => LlamaModels.Ensure(one, LlamaModels.Storage.Q4_K), Widen: false, Gguf: true, LongToo: true, reps),
        };
        if (big)
            cases.Add(new("8b-q4_k", $"{b}, Q4_K GGUF (512 tokens only, 1 timed rep)",
                () => LlamaModels.Ensure(eight, LlamaModels.Storage.Q4_K), Widen: false, Gguf: true, LongToo: false, 1));
        if (only is not null) cases = cases.Where(c => only.Contains(c.Name)).ToList();

        // Write every model first, so the timed part of the run is not interleaved with writing gigabytes.
        var paths = cases.ToDictionary(c => c.Name, c => c.Path());
        // Writing the BF16 model held its 2.5 GB of bytes in this process; give it back before the children measure.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        // The header first, then each row as its case finishes: a long run shows what it has so far.
        string cpu = CpuName();
        Console.WriteLine($"# ModelVis `models` benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine();
        Console.WriteLine($"Machine: {cpu}, {Environment.ProcessorCount} cores, {MemTotalGb():F0} GiB RAM; ModelVis {Parallelism.Threads} threads (kernels {MatMul.Path}), llama.cpp {Parallelism.Threads} threads.");
        Console.WriteLine($"Capture: hidden states 0..L, logits at every position, attention probabilities of layer 0 ([32, n, n]). Random token ids. " +
                          $"ModelVis times: median of {reps} warm passes at 512 tokens (after a cold first pass; the 8B: 1 warm pass), 1 pass at 2,048; " +
                          $"first-attention = from calling Forward on the freshly opened model (cold) to layer 0's capture. " +
                          $"llama.cpp: prompt evaluation with the whole prompt as one batch (logits of the last token only), flash attention off, F16 KV cache, median of {reps} at 512 (the 8B: 1) and 1 at 2,048 after a warm-up. " +
                          $"Ratio = ModelVis time / llama.cpp time; in brackets the same for CPU seconds (every thread of each process), which other processes on a shared machine disturb less than wall time. Goals: peak RSS at 512 ≤ file + 1.5 GB; open ≤ 2 s; forward + capture ≤ 2× llama.cpp.");
        Console.WriteLine();
        Console.WriteLine("| model | file GB | open s | first layer's attention s | 512: ModelVis s | 512: llama.cpp s | 512 ratio | 2,048: ModelVis s | 2,048: llama.cpp s | 2,048 ratio | peak RSS 512 GB (goal) | peak RSS 2,048 GB | llama.cpp peak RSS GB | goals RSS / open / 2× |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in cases)
        {
            var path = paths[c.Name];
            double fileGb = LlamaModels.SizeOnDisk(path) / 1e9;
            Console.Error.WriteLine($"[models] {c.Name}: ModelVis ...");
            var mine = RunChild(path, c.Widen, c.Reps, c.LongToo ? 1 : 0);
            Theirs? theirs = null;
            if (c.Gguf && llamaCpp)
            {
                Console.Error.WriteLine($"[models] {c.Name}: llama.cpp ...");
                theirs = RunLlamaCpp(path, one.Vocab, c.LongToo ? [Short, Long] : [Short], c.LongToo ? [c.Reps, 1] : [c.Reps]);
            }
            Console.WriteLine(Row(c, fileGb, mine, theirs, c.Gguf ? (llamaCpp ? null : "not run (--no-llamacpp)") : "no GGUF (safetensors)"));
        }

        return 0;
    }

    static string Row(Case c, double fileGb, Mine m, Theirs? t, string? whyNoLlama)
    {
        string llama = whyNoLlama ?? (t?.Error is { } e ? $"failed: {Cell(e)}" : "-");
        double? l512 = Med(t?.Times, Short), l2048 = Med(t?.Times, Long);
        double? lc512 = Med(t?.Cpu, Short), lc2048 = Med(t?.Cpu, Long);
        string llamaCell(double? v, bool asked) => !asked ? "-" : v is { } s ? $"{s:F2}" : llama;
        string theirPeak = t is { Error: null } ? $"{Gb(t.PeakMb):F2}" : "-";
        double rssGoal = fileGb + 1.5;
        if (m.Error is not null)
            return $"| {c.Label} | {fileGb:F2} | failed: {Cell(m.Error)} | - | - | {llamaCell(l512, true)} | - | - | {llamaCell(l2048, c.LongToo)} | - | " +
                   $"{(m.PeakMb > 0 ? $"{Gb(m.PeakMb):F2}" : "-")} ({rssGoal:F2}) | - | {theirPeak} | - |";
        double m512 = Median(m.Times512), mc512 = Median(m.Cpu512);
        double? m2048 = m.Times2048.Length > 0 ? Median(m.Times2048) : null, mc2048 = m.Cpu2048.Length > 0 ? Median(m.Cpu2048) : null;
        static string ratio(double? mine, double? theirs, double? myCpu, double? theirCpu) =>
            mine is { } a && theirs is { } b ? $"{a / b:F2}×" + (myCpu is { } x && theirCpu is { } y ? $" (CPU {x / y:F2}×)" : "") : "-";
        string goals = $"{(Gb(m.Peak512Mb) <= rssGoal ? "✓" : "✗")} / {(m.OpenS <= 2 ? "✓" : "✗")} / " +
                       (l512 is { } x512 ? (m512 / x512 <= 2 && (m2048 is null || l2048 is null || m2048 / l2048 <= 2) ? "✓" : "✗") : "-");
        return $"| {c.Label} | {fileGb:F2} | {m.OpenS:F2} | {m.FirstAttentionS:F2} | {m512:F2} | {llamaCell(l512, true)} | {ratio(m512, l512, mc512, lc512)} | " +
               $"{(m2048 is { } v ? $"{v:F2}" : "-")} | {llamaCell(l2048, c.LongToo)} | {ratio(m2048, l2048, mc2048, lc2048)} | " +
               $"{Gb(m.Peak512Mb):F2} ({rssGoal:F2}) | {(c.LongToo ? $"{Gb(m.PeakMb):F2}" : "-")} | {theirPeak} | {goals} |";
    }

    /// <summary>/proc's kB are KiB, so its "MB" are MiB; the table says GB (10⁹ bytes), as it does for file sizes.</summary>
    internal static double Gb(double mib) => mib * 1048576 / 1e9;

    static double? Med(Dictionary<int, double[]>? times, int n) => times is not null && times.TryGetValue(n, out var x) && x.Length > 0 ? Median(x) : null;

    static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    // ---------------------------------------------------------------- the child process: one file

    /// <summary>
    /// <c>models-case PATH REPS LONGREPS</c>: opens the model (timed), runs a cold 512-token pass timing layer 0's
    /// capture, REPS warm 512-token passes, reads the peak RSS, then LONGREPS 2,048-token passes; prints JSON on stdout.
    /// </summary>
    public static int Child(string[] args)
    {
        string path = args[1];
        int reps = int.Parse(args[2]), longReps = int.Parse(args[3]);
        try
        {
            var sw = Stopwatch.StartNew();
            using var model = ModelLoader.Load(path);
            double open = sw.Elapsed.TotalSeconds;
            double openMb = Rss().Current;
            Console.Error.WriteLine($"  opened in {open:F2} s, RSS {openMb:F0} MB");
            var request = new CaptureRequest(new HashSet<int> { 0 }, HiddenStates: true, Logits: true);
            var rng = new Random(7);
            int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(259, model.Config.Vocab)).ToArray();

            double firstAttention = 0;
            sw.Restart();
            var cold = model.Forward(new ForwardInput(Ids(Short)), request, default, layer =>
            {
                if (layer.Layer == 0) firstAttention = sw.Elapsed.TotalSeconds;
            });
            double coldS = sw.Elapsed.TotalSeconds;
            if (cold.Attentions[0].Data.Any(float.IsNaN)) Console.Error.WriteLine("  warning: NaN in layer 0's attention");
            cold = null;
            Console.Error.WriteLine($"  cold 512-token pass {coldS:F2} s (layer 0's attention after {firstAttention:F2} s)");

            var (times512, cpu512) = Passes(model, request, Ids, Short, reps);
            double peak512 = Rss().Peak;
            var (times2048, cpu2048) = Passes(model, request, Ids, Long, longReps);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                open_s = open, open_mb = openMb, first_attention_s = firstAttention, cold_s = coldS,
                times512, cpu512, peak512_mb = peak512, times2048, cpu2048, peak_mb = Rss().Peak,
            }));
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            Console.WriteLine(JsonSerializer.Serialize(new { error = $"{e.GetType().Name}: {e.Message}", peak_mb = Rss().Peak }));
            return 2;
        }
    }

    /// <summary>Wall-clock and CPU seconds (all threads of the process) of each pass.</summary>
    static (double[] Wall, double[] Cpu) Passes(LanguageModel model, CaptureRequest request, Func<int, int[]> ids, int n, int reps)
    {
        var times = new double[reps];
        var cpu = new double[reps];
        using var self = Process.GetCurrentProcess();
        for (int r = 0; r < reps; r++)
        {
            var input = new ForwardInput(ids(n));
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var result = model.Forward(input, request);
            times[r] = sw.Elapsed.TotalSeconds;
            self.Refresh();
            cpu[r] = (self.TotalProcessorTime - cpu0).TotalSeconds;
            GC.KeepAlive(result);
            result = null;
            GC.Collect();
            Console.Error.WriteLine($"  {n} tokens: {times[r]:F2} s (CPU {cpu[r]:F2} s), peak RSS {Rss().Peak:F0} MB");
        }
        return (times, cpu);
    }

    internal static Mine RunChild(string path, bool widen, int reps, int longReps)
    {
        var psi = Self("models-case", path, reps.ToString(), longReps.ToString());
        psi.Environment["MODELVIS_WIDEN_WEIGHTS"] = widen ? "1" : "0";
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var last = output.Trim().Split('\n')[^1];
        if (!last.StartsWith('{'))
            return new Mine { Error = $"child exited with {p.ExitCode}{(p.ExitCode == 137 ? " (killed: out of memory?)" : "")}" };
        using var doc = JsonDocument.Parse(last);
        var r = doc.RootElement;
        if (r.TryGetProperty("error", out var err)) return new Mine { Error = err.GetString(), PeakMb = r.GetProperty("peak_mb").GetDouble() };
        double[] Arr(string name) => r.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return new Mine
        {
            OpenS = r.GetProperty("open_s").GetDouble(), OpenMb = r.GetProperty("open_mb").GetDouble(),
            FirstAttentionS = r.GetProperty("first_attention_s").GetDouble(), ColdS = r.GetProperty("cold_s").GetDouble(),
            Times512 = Arr("times512"), Cpu512 = Arr("cpu512"), Cpu2048 = Arr("cpu2048"), Peak512Mb = r.GetProperty("peak512_mb").GetDouble(),
            Times2048 = Arr("times2048"), PeakMb = r.GetProperty("peak_mb").GetDouble(),
        };
    }

    static Theirs RunLlamaCpp(string gguf, int vocab, int[] lengths, int[] reps)
    {
        var script = FindFile(Path.Combine("bench", "models", "llamacpp.mjs"));
        if (script is null) return new Theirs { Error = "bench/models/llamacpp.mjs not found" };
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true };
        foreach (var a in new[] { script, "--model", gguf, "--tokens", string.Join(',', lengths), "--reps", string.Join(',', reps),
                                  "--threads", Parallelism.Threads.ToString(), "--vocab", vocab.ToString() })
            psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Exception e) { return new Theirs { Error = $"node could not start: {e.Message}" }; }
        using (p)
        {
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var last = output.Trim().Split('\n')[^1];
            if (!last.StartsWith('{')) return new Theirs { Error = $"node exited with {p.ExitCode}" };
            using var doc = JsonDocument.Parse(last);
            var r = doc.RootElement;
            if (r.TryGetProperty("error", out var err)) return new Theirs { Error = err.GetString() };
            var t = new Theirs { Version = r.GetProperty("version").GetString(), PeakMb = r.GetProperty("peak_mb").GetDouble() };
            foreach (var prop in r.GetProperty("results").EnumerateObject())
            {
                t.Times[int.Parse(prop.Name)] = prop.Value.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                t.Cpu[int.Parse(prop.Name)] = prop.Value.GetProperty("cpu").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            }
            return t;
        }
    }

    // ---------------------------------------------------------------- helpers

    internal static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static string CpuName()
    {
        try { return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU"; }
        catch (IOException) { return "unknown CPU"; }
    }

    internal static double MemTotalGb()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:"));
            return double.Parse(line.Split(':')[1].Trim().Split(' ')[0]) / 1048576.0;
        }
        catch (Exception) { return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024); }
    }
}
