namespace ModelVis.Runs;

/// <summary>A folder that is a run: its log files, newest change, and where it sits.</summary>
public sealed record RunEntry(string Path, string Name, string Root, IReadOnlyList<RunFileEntry> Files, DateTime LastWrite);

public sealed record RunFileEntry(string Path, string Kind, long Size);

/// <summary>Finds runs below some folders: every folder with event files or training logs of its own.</summary>
public static class RunDiscovery
{
    static readonly HashSet<string> SkippedFolders = new(StringComparer.OrdinalIgnoreCase)
    {
        "node_modules", ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", "bin", "obj", "dist", "out",
        ".vscode-test", "site-packages",
    };

    public static List<RunEntry> Find(IEnumerable<string> roots, int maxDepth = 8, int maxRuns = 500, CancellationToken cancel = default)
    {
        var runs = new List<RunEntry>();
        foreach (var root in roots.Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(root)) continue;
            Walk(root, root, 0);
        }
        return runs;

        void Walk(string root, string dir, int depth)
        {
            if (runs.Count >= maxRuns) return;
            cancel.ThrowIfCancellationRequested();
            List<(string Path, RunReader.LogKind Kind)> files;
            try { files = RunReader.LogFiles(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            if (files.Count > 0)
            {
                var infos = files.Select(f => (f, info: new FileInfo(f.Path))).ToList();
                string name = System.IO.Path.GetRelativePath(root, dir);
                if (name == ".") name = System.IO.Path.GetFileName(dir.TrimEnd(System.IO.Path.DirectorySeparatorChar));
                runs.Add(new RunEntry(dir, name.Replace('\\', '/'), root,
                    infos.Select(x => new RunFileEntry(x.f.Path, KindName(x.f.Kind), x.info.Length)).ToList(),
                    infos.Max(x => x.info.LastWriteTimeUtc)));
            }
            if (depth >= maxDepth) return;
            IEnumerable<string> subdirs;
            try { subdirs = Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            foreach (var sub in subdirs)
            {
                var leaf = System.IO.Path.GetFileName(sub);
                if (SkippedFolders.Contains(leaf) || (leaf.StartsWith('.') && leaf != ".")) continue;
                if (new DirectoryInfo(sub).LinkTarget != null) continue;
                Walk(root, sub, depth + 1);
            }
        }
    }

    public static string KindName(RunReader.LogKind kind) => kind switch
    {
        RunReader.LogKind.EventFile => "tfevents",
        RunReader.LogKind.Csv => "csv",
        _ => "jsonl",
    };
}
