namespace ModelVis.Tests;

/// <summary>Locates ../shared/fixtures (relative to the project root) from wherever the test runs.</summary>
public static class Fixtures
{
    public static string Root { get; } = Find();

    static string Find()
    {
        var env = Environment.GetEnvironmentVariable("MODELVIS_FIXTURES");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(candidate) && dir.GetDirectories("shared").Length > 0 && File.Exists(Path.Combine(candidate, "README.md")))
                return candidate;
        }
        throw new DirectoryNotFoundException("../shared/fixtures not found beside the checkout; set MODELVIS_FIXTURES");
    }

    public static string Path_(params string[] parts) => Path.Combine([Root, .. parts]);
    public static string Model(string name) => Path.Combine(Root, "models", name);
    public static string Expected(string model, string file) => Path.Combine(Root, "expected", model, file);

    /// <summary>A fresh temporary folder, deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelvis-test-" + Guid.NewGuid().ToString("N")[..12]);
        public TempDir() => Directory.CreateDirectory(Path);
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
