using System.Diagnostics;
using System.Runtime.Intrinsics;
using ModelVis.Checkpoints;

namespace ModelVis.Bench;

/// <summary>
/// Dequantization throughput of every GGUF block type ModelVis decodes, one thread:
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- quant [--quick]</code>
/// Two shapes of work: one 4,096-element row at a time from a weight matrix that fits in L2 (what the matmul's
/// pack step does per row), and one pass over 64 M elements (far beyond the caches: memory-bound). Timed
/// in CPU time, median of several runs: BenchmarkDotNet's harness would take minutes for eleven types.
/// </summary>
public static class QuantReport
{
    static readonly DType[] Types = [DType.Q8_0, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.Q8_K];

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int reps = quick ? 3 : 7;
        Console.WriteLine($"# GGUF dequantization ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, 1 thread of {Environment.ProcessorCount} cores, " +
            $"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated})");
        Console.WriteLine();
        Console.WriteLine("| type | rows of 4,096 in L2: G elements/s | GB/s written (float32) | GB/s read | 64 M elements streamed: G elements/s | GB/s written |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var t in Types)
        {
            var (n, size) = t.Block();
            const int row = 4096, rows = 64;                  // 256 K elements: 72–300 KB of blocks, in L2
            var small = RandomBlocks(t, rows * row / n);
            var output = new float[row];
            double hot = Median(reps, () =>
            {
                for (int r = 0; r < rows; r++)
                    GgmlQuantization.DequantizeBlocks(t, small.AsSpan(r * row / n * size, row / n * size), output);
            }) / (rows * (double)row);
            long big = quick ? 1 << 24 : 1 << 26;
            var blocks = RandomBlocks(t, (int)(big / n));
            var all = new float[big];
            double cold = Median(reps, () => GgmlQuantization.DequantizeBlocks(t, blocks, all)) / big;
            double bytesPerElement = (double)size / n;
            Console.WriteLine($"| {t.Name()} | {1 / hot / 1e9:F2} | {4 / hot / 1e9:F1} | {bytesPerElement / hot / 1e9:F1} | {1 / cold / 1e9:F2} | {4 / cold / 1e9:F1} |");
        }
        return 0;
    }

    /// <summary>Random quant bytes with finite scales (fp16 d and dmin of small magnitude; Q8_K's float d).</summary>
    static byte[] RandomBlocks(DType t, int count)
    {
        var (_, size) = t.Block();
        var rng = new Random(7);
        var bytes = new byte[(long)count * size];
        rng.NextBytes(bytes);
        int[] halves = t switch
        {
            DType.Q8_0 or DType.Q4_0 or DType.Q5_0 => [0],
            DType.Q4_1 or DType.Q5_1 or DType.Q4_K or DType.Q5_K => [0, 2],
            DType.Q2_K => [80, 82], DType.Q3_K => [108], DType.Q6_K => [208], _ => [],
        };
        for (long b = 0; b < count; b++)
        {
            foreach (int at in halves) BitConverter.TryWriteBytes(bytes.AsSpan((int)(b * size + at)), (Half)0.01f);
            if (t == DType.Q8_K) BitConverter.TryWriteBytes(bytes.AsSpan((int)(b * size)), 0.01f);
        }
        return bytes;
    }

    /// <summary>Seconds per run, median of <paramref name="reps"/>: each measure repeats the run for at least
    /// 0.2 s of this process's CPU time (not wall time, so other processes on a shared machine do not count).</summary>
    static double Median(int reps, Action run)
    {
        run();
        var process = Process.GetCurrentProcess();
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            process.Refresh();
            var start = process.TotalProcessorTime;
            int n = 0;
            TimeSpan spent;
            do
            {
                run();
                n++;
                process.Refresh();
                spent = process.TotalProcessorTime - start;
            } while (spent.TotalSeconds < 0.2);
            times[i] = spent.TotalSeconds / n;
        }
        Array.Sort(times);
        return times[reps / 2];
    }
}
