using System.Diagnostics;

namespace ModelVis.Bench;

/// <summary>What every report does to time its runs.</summary>
public static class Timing
{
    /// <summary><c>--reps N</c> (at least 1), or <paramref name="fallback"/>.</summary>
    public static int Reps(string[] args, int fallback = 3)
    {
        int at = Array.IndexOf(args, "--reps");
        return at >= 0 && at + 1 < args.Length ? Math.Max(1, int.Parse(args[at + 1])) : fallback;
    }

    /// <summary>Runs <paramref name="run"/> <paramref name="reps"/> times, garbage collected before each: the median seconds and the last result.</summary>
    public static (double Median, T Last) Time<T>(int reps, Func<T> run)
    {
        var times = new List<double>();
        T last = default!;
        for (int r = 0; r < reps; r++)
        {
            GC.Collect();
            var sw = Stopwatch.StartNew();
            last = run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return (EngineReport.Median(times), last);
    }
}
