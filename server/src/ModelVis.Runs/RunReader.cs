namespace ModelVis.Runs;

/// <summary>
/// A run is a folder holding event files and/or training logs (TensorBoard's convention: each folder with event
/// files is one run), or one such file. Files of a folder are read in name order (event file names start with
/// their creation time), and their tags merge.
/// </summary>
public static class RunReader
{
    public enum LogKind { EventFile, Csv, Jsonl }

    /// <summary>The kind of log <paramref name="path"/> is by its name, or null when it is not one.</summary>
    public static LogKind? KindOf(string path) =>
        EventFileReader.IsEventFile(path) ? LogKind.EventFile
        : CsvLogReader.IsCsvLog(path) ? LogKind.Csv
        : JsonlLogReader.IsJsonlLog(path) ? LogKind.Jsonl
        : null;

    /// <summary>The log files of a run folder (its own files, not those of sub-folders), in name order.</summary>
    public static List<(string Path, LogKind Kind)> LogFiles(string folder)
    {
        var files = new List<(string, LogKind)>();
        foreach (var f in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            var kind = KindOf(f);
            if (kind is null) continue;
            if (kind == LogKind.Csv && !CsvLogReader.LooksLikeLog(f)) continue;
            files.Add((f, kind.Value));
        }
        return files;
    }

    /// <summary>Reads a run folder or one log file from the start.</summary>
    public static RunData Read(string path, CancellationToken cancel = default)
    {
        var run = new RunData();
        foreach (var (file, kind) in Files(path)) ReadFile(file, kind, run, 0, cancel);
        Finish(run);
        return run;
    }

    /// <summary>
    /// Reads only what was added to the run's files since <paramref name="cursor"/> (as a previous read left it in
    /// <see cref="RunData.Cursor"/>): a file that grows is not read again from the start; a file new to the run is
    /// read whole. A file that got shorter (rewritten, as Lightning's CSV logger does) is read again whole and
    /// listed in <paramref name="reset"/>, so the caller drops what it had from it.
    /// </summary>
    public static RunData ReadOn(string path, RunCursor cursor, out List<string> reset, CancellationToken cancel = default)
    {
        var run = new RunData { Cursor = cursor.Copy() };
        reset = [];
        foreach (var (file, kind) in Files(path))
        {
            long start = run.Cursor.Files.GetValueOrDefault(file)?.Offset ?? 0;
            long length = new FileInfo(file).Length;
            if (start > length || (kind != LogKind.EventFile && start > 0 && !AtLineStart(file, start)))
            {
                reset.Add(file);
                run.Cursor.Files.Remove(file);
                start = 0;
            }
            if (start == length) continue;
            ReadFile(file, kind, run, start, cancel);
        }
        Finish(run);
        return run;
    }

    /// <summary>
    /// Whether byte <paramref name="offset"/> starts a line. Lightning rewrites metrics.csv whole at each flush (a
    /// new metric adds a column to every row); a text log whose old offset no longer follows a newline was
    /// rewritten, not appended to.
    /// </summary>
    static bool AtLineStart(string file, long offset)
    {
        using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        s.Position = offset - 1;
        return s.ReadByte() == '\n';
    }

    static IEnumerable<(string, LogKind)> Files(string path)
    {
        if (File.Exists(path))
        {
            var kind = KindOf(path) ?? throw new RunFormatException($"{System.IO.Path.GetFileName(path)}: not a training log (event files are named events.out.tfevents.*; logs end in .csv, .jsonl or .ndjson)");
            return [(path, kind)];
        }
        if (!Directory.Exists(path)) throw new RunFormatException($"{path}: no such file or folder");
        var files = LogFiles(path);
        if (files.Count == 0)
        {
            var below = RunDiscovery.Find([path], maxRuns: 5).Select(r => System.IO.Path.GetRelativePath(path, r.Path)).ToList();
            throw new RunFormatException(below.Count > 0
                ? $"{path}: no event files or logs in this folder; runs below it: {string.Join(", ", below)}"
                : $"{path}: no event files (events.out.tfevents.*) or training logs (.csv with a header, .jsonl) here");
        }
        return files;
    }

    static void ReadFile(string file, LogKind kind, RunData run, long start, CancellationToken cancel)
    {
        switch (kind)
        {
            case LogKind.EventFile: EventFileReader.Read(file, run, start, cancel); break;
            case LogKind.Csv: CsvLogReader.Read(file, run, start, cancel); break;
            case LogKind.Jsonl: JsonlLogReader.Read(file, run, start, cancel); break;
        }
    }

    static void Finish(RunData run)
    {
        foreach (var (plugin, count) in run.SkippedPlugins)
            run.Notes.Add($"{count} summary value{(count == 1 ? "" : "s")} of the `{plugin}` kind not shown (scalars and histograms are)");
    }
}
