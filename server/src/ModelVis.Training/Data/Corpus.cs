using System.Reflection;
using System.Text;

namespace ModelVis.Training.Data;

/// <summary>Where training text comes from: the project's own sources (shipped inside this assembly), files on disk, or a generator.</summary>
public static class Corpus
{
    /// <summary>Extensions read from folders given on the command line.</summary>
    public static readonly string[] TextExtensions = [".cs", ".ts", ".js", ".md", ".txt", ".py", ".json", ".html", ".css", ".c", ".h", ".cpp", ".rs", ".go", ".java", ".sh", ".yml", ".yaml", ".toml", ".xml"];

    const long MaxFileBytes = 1 << 20;

    /// <summary>
    /// The project's own source code (*.cs, *.ts), embedded into this assembly at build time, in a stable
    /// (ordinal path) order.
    /// </summary>
    public static IReadOnlyList<string> ProjectSources()
    {
        var asm = typeof(Corpus).Assembly;
        var names = asm.GetManifestResourceNames().Where(n => n.StartsWith("corpus/", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        var texts = new List<string>();
        foreach (var name in names)
        {
            using var s = asm.GetManifestResourceStream(name)!;
            using var r = new StreamReader(s, Encoding.UTF8);
            texts.Add(r.ReadToEnd());
        }
        return texts;
    }

    /// <summary>Text files under the given files or folders (recursively; build output and hidden folders skipped), up to <paramref name="maxBytes"/>.</summary>
    public static IReadOnlyList<string> FromPaths(IEnumerable<string> paths, long maxBytes = 8 << 20)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (File.Exists(p)) files.Add(Path.GetFullPath(p));
            else if (Directory.Exists(p)) files.AddRange(Walk(p).Order(StringComparer.Ordinal));
            else throw new TrainingException($"corpus path `{p}` does not exist");
        }
        var texts = new List<string>();
        long total = 0;
        foreach (var f in files)
        {
            var len = new FileInfo(f).Length;
            if (len == 0 || len > MaxFileBytes) continue;
            var text = File.ReadAllText(f);
            if (text.Contains('\0')) continue;  // binary
            texts.Add(text);
            total += len;
            if (total >= maxBytes) break;
        }
        if (texts.Count == 0) throw new TrainingException($"no text files found in {string.Join(", ", paths)} (looked for {string.Join(" ", TextExtensions)} under 1 MiB)");
        return texts;
    }

    static IEnumerable<string> Walk(string dir)
    {
        var stack = new Stack<string>();
        stack.Push(dir);
        while (stack.Count > 0)
        {
            var d = stack.Pop();
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(d); } catch (UnauthorizedAccessException) { continue; }
            foreach (var e in entries)
            {
                var name = Path.GetFileName(e);
                if (Directory.Exists(e))
                {
                    if (name.StartsWith('.') || name is "bin" or "obj" or "node_modules" or "out" or "dist") continue;
                    stack.Push(e);
                }
                else if (TextExtensions.Contains(Path.GetExtension(e), StringComparer.OrdinalIgnoreCase)) yield return Path.GetFullPath(e);
            }
        }
    }

    /// <summary>
    /// A fixed, generated corpus of small C#-like methods and English sentences about them: structured
    /// enough that a tiny model learns it quickly, and the same for a seed on every machine (for tests).
    /// </summary>
    public static IReadOnlyList<string> Synthetic(int seed, int documents)
    {
        var rng = new Random(seed);
        string[] nouns = ["count", "index", "value", "total", "width", "height", "offset", "length", "score", "weight", "token", "layer", "head", "row", "column"];
        string[] verbs = ["Get", "Set", "Compute", "Update", "Find", "Scale", "Clamp", "Reset"];
        string[] types = ["int", "float", "double", "long"];
        string[] ops = ["+", "-", "*"];
        var docs = new List<string>();
        for (int d = 0; d < documents; d++)
        {
            var sb = new StringBuilder();
            string cls = char.ToUpperInvariant(nouns[rng.Next(nouns.Length)][0]) + nouns[rng.Next(nouns.Length)][1..] + "Helper";
            sb.Append("/// <summary>Helpers for the ").Append(cls).Append(".</summary>\n");
            sb.Append("public static class ").Append(cls).Append("\n{\n");
            int methods = 2 + rng.Next(3);
            for (int m = 0; m < methods; m++)
            {
                string t = types[rng.Next(types.Length)], a = nouns[rng.Next(nouns.Length)], b = nouns[rng.Next(nouns.Length)];
                if (a == b) b = "other";
                string verb = verbs[rng.Next(verbs.Length)], name = verb + char.ToUpperInvariant(a[0]) + a[1..];
                sb.Append("    /// <summary>").Append(verb).Append("s the ").Append(a).Append(" from the ").Append(b).Append(".</summary>\n");
                sb.Append("    public static ").Append(t).Append(' ').Append(name).Append('(').Append(t).Append(' ').Append(a).Append(", ").Append(t).Append(' ').Append(b).Append(")\n    {\n");
                if (rng.Next(2) == 0)
                    sb.Append("        if (").Append(a).Append(" < ").Append(b).Append(") return ").Append(b).Append(";\n");
                sb.Append("        return ").Append(a).Append(' ').Append(ops[rng.Next(ops.Length)]).Append(' ').Append(b).Append(";\n    }\n");
                if (m + 1 < methods) sb.Append('\n');
            }
            sb.Append("}\n");
            docs.Add(sb.ToString());
        }
        return docs;
    }
}
