using System.CommandLine;
using System.Text.Json;
using ModelVis.Runs;

namespace ModelVis.Cli.Verbs;

/// <summary>
/// <c>scalars --run PATH [--json]</c>: the scalar series of a run folder or one event file / CSV / JSON-lines log,
/// in file order. JSON: <c>{"tags": {"&lt;tag&gt;": {"steps": [...], "values": [...], "wall_times": [...]}}}</c>
/// (a wall time the log does not have is null; non-finite values are "NaN", "Infinity", "-Infinity").
/// Damaged records skipped, and notes, go to stderr.
/// </summary>
static class ScalarsVerb
{
    public static Command Create()
    {
        var runPath = new Option<string>("--run") { Description = "A run folder, or one event file, .csv or .jsonl log", Required = true };
        var json = new Option<bool>("--json") { Description = "JSON on stdout" };
        var cmd = new Command("scalars", "Print the scalar series (steps, values, wall times) of a training run") { runPath, json };
        cmd.SetAction((parse, cancel) =>
        {
            var path = Path.GetFullPath(parse.GetValue(runPath)!);
            var run = RunReader.Read(path, cancel);
            foreach (var p in run.Problems) Console.Error.WriteLine($"modelvis: skipped: {p}");
            foreach (var n in run.Notes) Console.Error.WriteLine($"modelvis: {n}");
            if (parse.GetValue(json)) WriteJson(run);
            else
            {
                foreach (var s in run.Scalars.Values)
                    Console.WriteLine(s.Count == 0 ? $"{s.Tag}\t0 points"
                        : $"{s.Tag}\t{s.Count} points\tsteps {s.Steps[0]}…{s.Steps[^1]}\tfirst {s.Values[0]:G6}\tlast {s.Values[^1]:G6}");
                foreach (var h in run.Histograms.Values)
                    Console.WriteLine($"{h.Tag}\t{h.Steps.Count} histograms");
            }
            return Task.FromResult(0);
        });
        return cmd;
    }

    static void WriteJson(RunData run)
    {
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout);
        w.WriteStartObject();
        w.WriteStartObject("tags");
        foreach (var s in run.Scalars.Values)
        {
            w.WriteStartObject(s.Tag);
            w.WriteStartArray("steps");
            foreach (var x in s.Steps) w.WriteNumberValue(x);
            w.WriteEndArray();
            w.WriteStartArray("values");
            foreach (var x in s.Values) WriteDouble(w, x);
            w.WriteEndArray();
            w.WriteStartArray("wall_times");
            foreach (var x in s.WallTimes)
                if (double.IsNaN(x)) w.WriteNullValue(); else w.WriteNumberValue(x);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        stdout.WriteByte((byte)'\n');
    }

    internal static void WriteDouble(Utf8JsonWriter w, double x)
    {
        if (double.IsFinite(x)) w.WriteNumberValue(x);
        else w.WriteStringValue(double.IsNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
    }
}
