using System.Text;

namespace ModelVis.Runs;

/// <summary>
/// CSV training logs with a header row: Lightning's <c>metrics.csv</c> (<c>epoch,step,train_loss,…</c> with empty
/// cells where a metric was not logged that step) and Keras' <c>CSVLogger</c> (<c>epoch,loss,val_loss,…</c>).
/// The x axis is the first of step, global_step, iteration, iter, epoch that is a column (else the row number);
/// wall_time/time/timestamp, if a column, gives wall times; every other column is a tag, and its empty or
/// non-numeric cells are skipped.
/// </summary>
public static class CsvLogReader
{
    public static bool IsCsvLog(string path) => System.IO.Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the first line of <paramref name="path"/> looks like a training log's header.</summary>
    public static bool LooksLikeLog(string path)
    {
        try
        {
            var first = LogLines.Read(path, 0, 1).FirstOrDefault();
            if (first.Text is null) return false;
            var header = Split(first.Text).Select(h => h.Trim().ToLowerInvariant()).ToArray();
            return header.Length >= 2 && header.Any(h => LogLines.StepNames.Contains(h));
        }
        catch (IOException) { return false; }
    }

    /// <summary>Reads rows from byte <paramref name="start"/> (0: the whole file) into <paramref name="run"/>; returns the offset to resume from.</summary>
    public static long Read(string path, RunData run, long start = 0, CancellationToken cancel = default)
    {
        string name = System.IO.Path.GetFileName(path);
        using var head = LogLines.Read(path, 0, 1).GetEnumerator();
        if (!head.MoveNext() || !head.Current.Terminated)
        {
            run.Cursor.Files[path] = new FilePosition(0);
            if (head.Current.Text is { Length: > 0 }) run.Notes.Add($"{name}: the header line is not finished yet");
            return 0;
        }
        var headerLine = head.Current;
        var header = Split(headerLine.Text).Select(h => h.Trim()).ToArray();
        if (header.Length == 0 || header.All(h => h.Length == 0)) throw new RunFormatException($"{name}: the first line is not a CSV header");
        int stepCol = FindColumn(header, LogLines.StepNames);
        int timeCol = FindColumn(header, LogLines.TimeNames);
        var series = new ScalarSeries?[header.Length];
        long end = Math.Max(start, headerLine.End);
        var (linesBefore, rows) = start <= headerLine.End ? (1, 0) : run.Cursor.Files.TryGetValue(path, out var at) ? (at.Lines, at.Rows) : (0, 0);
        int lines = linesBefore;
        foreach (var line in LogLines.Read(path, end, linesBefore + 1))
        {
            cancel.ThrowIfCancellationRequested();
            if (line.Text.Length == 0) { end = line.End; lines = line.Number; continue; }
            var cells = Split(line.Text);
            if (!line.Terminated && cells.Count != header.Length) break; // a row still being written
            end = line.End;
            lines = line.Number;
            rows++;
            if (cells.Count != header.Length)
            {
                run.Problems.Add(new RecordProblem(path, line.Offset, $"line {line.Number}: {cells.Count} cells for {header.Length} columns; row skipped"));
                continue;
            }
            long step;
            if (stepCol >= 0)
            {
                if (!LogLines.TryNumber(cells[stepCol], out var s) || !double.IsFinite(s))
                {
                    run.Problems.Add(new RecordProblem(path, line.Offset, $"line {line.Number}: {header[stepCol]} \"{cells[stepCol]}\" is not a number; row skipped"));
                    continue;
                }
                step = (long)s;
            }
            else step = rows - 1;
            double wall = timeCol >= 0 && LogLines.TryNumber(cells[timeCol], out var w) ? w : double.NaN;
            for (int c = 0; c < header.Length; c++)
            {
                if (c == stepCol || c == timeCol || header[c].Length == 0) continue;
                if (cells[c].Trim().Length == 0 || !LogLines.TryNumber(cells[c], out var value)) continue;
                (series[c] ??= run.Scalar(header[c])).Add(step, value, wall);
            }
        }
        run.Cursor.Files[path] = new FilePosition(end, lines, rows);
        return end;
    }

    static int FindColumn(string[] header, string[] names)
    {
        foreach (var n in names)
        {
            int i = Array.FindIndex(header, h => h.Equals(n, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) return i;
        }
        return -1;
    }

    /// <summary>Splits one CSV line (RFC 4180 quoting: "a,b" and doubled quotes inside quotes).</summary>
    internal static List<string> Split(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
