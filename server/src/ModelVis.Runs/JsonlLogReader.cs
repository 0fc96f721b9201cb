using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelVis.Runs;

/// <summary>
/// JSON-lines training logs: one object per line, <c>{"step": 10, "loss": 2.31, "lr": 0.001}</c>. The x axis is the
/// first of step, global_step, iteration, iter, epoch that the object has (else the line's index among the
/// objects); wall_time/time/timestamp gives wall times; every other number is a tag, nested objects giving
/// slash-joined tags (<c>{"val": {"loss": 1}}</c> → <c>val/loss</c>). Python's <c>NaN</c> and <c>Infinity</c> are read.
/// A last line without its newline that does not parse yet is a record still being written, not an error.
/// </summary>
public static partial class JsonlLogReader
{
    public static bool IsJsonlLog(string path) =>
        System.IO.Path.GetExtension(path).ToLowerInvariant() is ".jsonl" or ".ndjson";

    public static long Read(string path, RunData run, long start = 0, CancellationToken cancel = default)
    {
        var (lines, rows) = start > 0 && run.Cursor.Files.TryGetValue(path, out var at) ? (at.Lines, at.Rows) : (0, 0);
        long end = start;
        foreach (var line in LogLines.Read(path, start, lines + 1))
        {
            cancel.ThrowIfCancellationRequested();
            if (line.Text.Trim().Length == 0) { end = line.End; lines = line.Number; continue; }
            JsonDocument doc;
            try { doc = Parse(line.Text); }
            catch (JsonException e)
            {
                if (!line.Terminated) break; // still being written
                run.Problems.Add(new RecordProblem(path, line.Offset, $"line {line.Number}: not JSON ({e.Message}); line skipped"));
                end = line.End;
                lines = line.Number;
                continue;
            }
            end = line.End;
            lines = line.Number;
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    run.Problems.Add(new RecordProblem(path, line.Offset, $"line {line.Number}: a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object; line skipped"));
                    continue;
                }
                var numbers = new List<(string Key, double Value)>();
                Flatten(doc.RootElement, "", numbers);
                rows++;
                long step = rows - 1;
                string? stepKey = LogLines.StepNames.FirstOrDefault(n => numbers.Any(x => x.Key == n));
                if (stepKey != null)
                {
                    double s = numbers.First(x => x.Key == stepKey).Value;
                    if (!double.IsFinite(s))
                    {
                        run.Problems.Add(new RecordProblem(path, line.Offset, $"line {line.Number}: {stepKey} is not a finite number; line skipped"));
                        continue;
                    }
                    step = (long)s;
                }
                string? timeKey = LogLines.TimeNames.FirstOrDefault(n => numbers.Any(x => x.Key == n));
                double wall = timeKey != null ? numbers.First(x => x.Key == timeKey).Value : double.NaN;
                foreach (var (key, value) in numbers)
                    if (key != stepKey && key != timeKey) run.Scalar(key).Add(step, value, wall);
            }
        }
        run.Cursor.Files[path] = new FilePosition(end, lines, rows);
        return end;
    }

    static JsonDocument Parse(string text)
    {
        try { return JsonDocument.Parse(text); }
        catch (JsonException) when (text.Contains("NaN", StringComparison.Ordinal) || text.Contains("Infinity", StringComparison.Ordinal))
        {
            return JsonDocument.Parse(PythonLiterals().Replace(text, m => $"\"{Marker}{m.Groups[1].Value}\""));
        }
    }

    const string Marker = "\uE000py:"; // a private-use character no log writes

    static void Flatten(JsonElement e, string prefix, List<(string, double)> into)
    {
        foreach (var p in e.EnumerateObject())
        {
            string key = prefix.Length == 0 ? p.Name : prefix + "/" + p.Name;
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Number:
                    into.Add((key, p.Value.GetDouble()));
                    break;
                case JsonValueKind.String when p.Value.GetString() is { } s && s.StartsWith(Marker, StringComparison.Ordinal):
                    into.Add((key, s[Marker.Length..] switch { "NaN" => double.NaN, "-Infinity" => double.NegativeInfinity, _ => double.PositiveInfinity }));
                    break;
                case JsonValueKind.Object:
                    Flatten(p.Value, key, into);
                    break;
            }
        }
    }

    // NaN / Infinity / -Infinity as bare values (after ':' , '[' or ','), as Python's json.dumps writes them.
    [GeneratedRegex(@"(?<=[:\[,]\s*)(NaN|-?Infinity)(?=\s*[,\]}])")]
    private static partial Regex PythonLiterals();
}
