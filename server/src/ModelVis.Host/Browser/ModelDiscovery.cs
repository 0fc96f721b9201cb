using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.IO;

namespace ModelVis.Host.Browser;

public sealed record ModelEntry(string Path, string Name, string Source, string Kind, string? Architecture = null, string? ModelType = null, string? Error = null);

/// <summary>
/// Finds checkpoints on disk: folders with <c>config.json</c> and weights (Hugging Face layout), single weight
/// files, the Hugging Face hub cache (<c>models--org--name/snapshots/&lt;rev&gt;/</c>, shown as <c>org/name</c>), and
/// the GGUF files of local LLM runtimes: Ollama (blobs named by its manifests, shown as <c>name:tag</c>), LM Studio
/// and llama.cpp's download cache.
/// </summary>
public static class ModelDiscovery
{
    const int MaxDepth = 6;
    const int MaxEntries = 2000;
    static readonly HashSet<string> SkippedFolders = new(StringComparer.Ordinal) { "node_modules", "bin", "obj", "__pycache__", "dist", "out" };

    /// <summary>Extensions of single-file checkpoints the loader can open.</summary>
    static IEnumerable<string> WeightExtensions => new[] { ".safetensors" }.Concat(CheckpointLoader.OtherFormats.Keys);

    public static string? DefaultHfCache()
    {
        var hub = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        if (!string.IsNullOrEmpty(hub)) return hub;
        var home = Environment.GetEnvironmentVariable("HF_HOME");
        if (!string.IsNullOrEmpty(home)) return System.IO.Path.Combine(home, "hub");
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = !string.IsNullOrEmpty(xdg) ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(cache, "huggingface", "hub");
    }

    /// <summary>
    /// Where local LLM runtimes keep their GGUF files: Ollama (<c>$OLLAMA_MODELS</c>, <c>~/.ollama/models</c>, the Linux
    /// service's <c>/usr/share/ollama/.ollama/models</c>), LM Studio (<c>~/.lmstudio/models</c>, <c>~/.cache/lm-studio/models</c>)
    /// and llama.cpp's <c>-hf</c> download cache (<c>$LLAMA_CACHE</c>, <c>~/.cache/llama.cpp</c>).
    /// </summary>
    public static List<(string Folder, string Source)> DefaultRuntimeFolders()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string cache = !string.IsNullOrEmpty(xdg) ? xdg : System.IO.Path.Combine(home, ".cache");
        var folders = new List<(string, string)>();
        void Add(string? path, string source) { if (!string.IsNullOrEmpty(path)) folders.Add((path, source)); }
        Add(Environment.GetEnvironmentVariable("OLLAMA_MODELS"), "ollama");
        Add(System.IO.Path.Combine(home, ".ollama", "models"), "ollama");
        Add("/usr/share/ollama/.ollama/models", "ollama");
        Add(System.IO.Path.Combine(home, ".lmstudio", "models"), "lm-studio");
        Add(System.IO.Path.Combine(cache, "lm-studio", "models"), "lm-studio");
        Add(Environment.GetEnvironmentVariable("LLAMA_CACHE"), "llama.cpp");
        Add(System.IO.Path.Combine(cache, "llama.cpp"), "llama.cpp");
        return folders;
    }

    public static List<ModelEntry> Discover(IEnumerable<(string Root, string Source)> roots, string? hfCache, CancellationToken ct = default,
        IEnumerable<(string Folder, string Source)>? runtimeFolders = null)
    {
        var found = new List<ModelEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (root, source) in roots)
        {
            if (!Directory.Exists(root)) continue;
            Walk(new DirectoryInfo(root), source, 0, found, seen, ct);
        }
        if (hfCache != null && Directory.Exists(hfCache)) ScanHfCache(hfCache, found, seen, ct);
        foreach (var (folder, source) in runtimeFolders ?? [])
        {
            if (!Directory.Exists(folder)) continue;
            if (source == "ollama") ScanOllama(folder, found, seen, ct);
            else Walk(new DirectoryInfo(folder), source, 0, found, seen, ct);
        }
        return found;
    }

    /// <summary>
    /// Ollama's store: <c>manifests/&lt;registry&gt;/&lt;namespace&gt;/&lt;model&gt;/&lt;tag&gt;</c> are JSON manifests whose layer of media type
    /// <c>application/vnd.ollama.image.model</c> names the GGUF blob (<c>blobs/sha256-&lt;hex&gt;</c>) by digest. Shown as Ollama
    /// names them: <c>model:tag</c> from the default registry's library, <c>namespace/model:tag</c> otherwise.
    /// </summary>
    static void ScanOllama(string root, List<ModelEntry> found, HashSet<string> seen, CancellationToken ct)
    {
        var manifests = System.IO.Path.Combine(root, "manifests");
        if (!Directory.Exists(manifests)) return;
        string[] files;
        try { files = Directory.GetFiles(manifests, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return; }
        foreach (var manifest in files)
        {
            ct.ThrowIfCancellationRequested();
            if (found.Count >= MaxEntries) return;
            var parts = System.IO.Path.GetRelativePath(manifests, manifest).Split(System.IO.Path.DirectorySeparatorChar);
            if (parts.Length != 4) continue;
            var (registry, ns, model, tag) = (parts[0], parts[1], parts[2], parts[3]);
            string name = registry == "registry.ollama.ai"
                ? (ns == "library" ? $"{model}:{tag}" : $"{ns}/{model}:{tag}")
                : $"{registry}/{ns}/{model}:{tag}";
            string? digest = null;
            try
            {
                using var doc = JsonDocument.Parse(InputFile.ReadAllBytes(manifest, MaxSmallFileBytes, m => new IOException(m)));
                if (doc.RootElement.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array)
                    foreach (var layer in layers.EnumerateArray())
                        if (layer.TryGetProperty("mediaType", out var mt) && mt.GetString() == "application/vnd.ollama.image.model"
                            && layer.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String)
                            digest = d.GetString();
            }
            catch (Exception e) when (e is JsonException or IOException or InvalidOperationException)
            {
                found.Add(new ModelEntry(manifest, name, "ollama", "file", Error: $"Ollama manifest: {e.Message}"));
                continue;
            }
            if (digest is null || !digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.AsSpan(7).ContainsAnyExcept("0123456789abcdef")) continue;
            var blob = System.IO.Path.Combine(root, "blobs", "sha256-" + digest[7..]);
            if (!File.Exists(blob)) continue;
            if (seen.Add(blob)) found.Add(Describe(blob, name, "ollama", "file"));
        }
    }

    static void Walk(DirectoryInfo dir, string source, int depth, List<ModelEntry> found, HashSet<string> seen, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (found.Count >= MaxEntries) return;
        if (IsCheckpointFolder(dir.FullName))
        {
            if (seen.Add(dir.FullName)) found.Add(Describe(dir.FullName, dir.Name, source, "folder"));
            return; // weights inside a checkpoint folder are not listed again
        }
        FileInfo[] files; DirectoryInfo[] subdirs;
        try { files = dir.GetFiles(); subdirs = dir.GetDirectories(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return; }
        foreach (var f in files.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            if (!WeightExtensions.Contains(f.Extension, StringComparer.OrdinalIgnoreCase)) continue;
            if (seen.Add(f.FullName)) found.Add(Describe(f.FullName, f.Name, source, "file"));
        }
        if (depth >= MaxDepth) return;
        foreach (var d in subdirs.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            if (d.Name.StartsWith('.') || SkippedFolders.Contains(d.Name)) continue;
            if ((d.Attributes & FileAttributes.ReparsePoint) != 0) continue; // no symlink loops
            Walk(d, source, depth + 1, found, seen, ct);
        }
    }

    /// <summary>A Hugging Face model folder: config.json beside its weights.</summary>
    public static bool IsCheckpointFolder(string dir)
    {
        if (!File.Exists(System.IO.Path.Combine(dir, "config.json"))) return false;
        try
        {
            return Directory.EnumerateFiles(dir).Any(f =>
            {
                var name = System.IO.Path.GetFileName(f);
                return name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                    || name.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)
                    || name is "pytorch_model.bin" or "model.pt" or "model.pth";
            });
        }
        catch (IOException) { return false; }
    }

    static void ScanHfCache(string cache, List<ModelEntry> found, HashSet<string> seen, CancellationToken ct)
    {
        IEnumerable<string> repos;
        try { repos = Directory.GetDirectories(cache, "models--*").Order(StringComparer.Ordinal).ToArray(); }
        catch (IOException) { return; }
        foreach (var repo in repos)
        {
            ct.ThrowIfCancellationRequested();
            var name = System.IO.Path.GetFileName(repo)["models--".Length..].Replace("--", "/");
            var snapshots = System.IO.Path.Combine(repo, "snapshots");
            if (!Directory.Exists(snapshots)) continue;
            var revs = Directory.GetDirectories(snapshots).Where(IsCheckpointFolder).ToArray();
            // The revision `refs/main` points at is the one a user means; others are shown with their hash.
            string? main = null;
            var refMain = System.IO.Path.Combine(repo, "refs", "main");
            if (File.Exists(refMain))
            {
                try { main = System.Text.Encoding.UTF8.GetString(InputFile.ReadAllBytes(refMain, MaxSmallFileBytes, m => new IOException(m))).Trim(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { main = null; }
            }
            foreach (var rev in revs.OrderBy(r => System.IO.Path.GetFileName(r) == main ? 0 : 1).ThenBy(r => r, StringComparer.Ordinal))
            {
                var hash = System.IO.Path.GetFileName(rev);
                var label = revs.Length == 1 || hash == main ? name : $"{name}@{hash[..Math.Min(7, hash.Length)]}";
                if (seen.Add(System.IO.Path.GetFullPath(rev))) found.Add(Describe(rev, label, "hf-cache", "folder"));
            }
        }
    }

    /// <summary>config.json, Ollama manifests and refs/main are a few KB.</summary>
    const long MaxSmallFileBytes = 16L << 20;

    /// <summary>How long describing one entry (reading its config.json or GGUF header) may take before it is skipped.</summary>
    internal static TimeSpan EntryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One entry, described within <see cref="EntryTimeout"/>: whatever its files do (a config.json linked to
    /// /dev/zero, a FIFO, a damaged header), the entry carries the reason and discovery goes on with the next one.
    /// </summary>
    static ModelEntry Describe(string path, string name, string source, string kind)
    {
        var work = Task.Run(() =>
        {
            try { return DescribeUnbounded(path, name, source, kind); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new ModelEntry(path, name, source, kind, Error: $"skipped: {e.Message}");
            }
        });
        if (work.Wait(EntryTimeout)) return work.Result;
        // The reader cannot be interrupted; it is left to finish on its own and its result is dropped.
        return new ModelEntry(path, name, source, kind, Error: $"skipped: reading it took longer than {EntryTimeout.TotalSeconds:0.#} s");
    }

    static ModelEntry DescribeUnbounded(string path, string name, string source, string kind)
    {
        if (kind == "file" && !InputFile.IsRegular(path, out var why))
            return new ModelEntry(path, name, source, kind, Error: $"skipped: {why}");
        if ((kind == "file" && path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) || source == "ollama") return DescribeGguf(path, name, source);
        if (kind == "file") return new ModelEntry(path, name, source, kind);
        try
        {
            var (arch, type) = ReadConfigSummary(path);
            return new ModelEntry(path, name, source, kind, arch, type);
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return new ModelEntry(path, name, source, kind, Error: $"config.json: {e.Message}");
        }
    }

    /// <summary>A GGUF file with its <c>general.architecture</c> (read from the header only).</summary>
    static ModelEntry DescribeGguf(string path, string name, string source)
    {
        try
        {
            using var gguf = new GgufFile(path);
            var arch = gguf.Metadata.TryGetValue("general.architecture", out var a) ? a as string : null;
            return new ModelEntry(path, name, source, "file", arch, arch is null ? null : "gguf");
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
        {
            return new ModelEntry(path, name, source, "file", Error: e.Message);
        }
    }

    /// <summary>The first of <c>architectures</c> and the <c>model_type</c> of a folder's config.json.</summary>
    public static (string? Architecture, string? ModelType) ReadConfigSummary(string folder)
    {
        var config = System.IO.Path.Combine(folder, "config.json");
        if (!File.Exists(config)) return (null, null);
        // A FIFO or a link to /dev/zero is refused by a stat before it is opened (IOException: the entry shows why).
        using var doc = JsonDocument.Parse(InputFile.ReadAllBytes(config, MaxSmallFileBytes, m => new IOException(m)));
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("not a JSON object");
        string? arch = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.String ? a[0].GetString() : null;
        string? type = root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return (arch, type);
    }
}
