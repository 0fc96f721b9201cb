using ModelVis.Training.Data;

namespace ModelVis.Training;

/// <summary>
/// The model ModelVis shows before the user has chosen one: a small Llama trained on the project's own
/// sources (embedded in this assembly) and on repeated random spans, saved in HF layout under the user's
/// cache folder and reused on later starts. The folder name carries <see cref="Version"/> and the seed, so
/// a change to the recipe trains a new one.
/// </summary>
public static class BuiltinModel
{
    /// <summary>Bump when the recipe (architecture, data, options) changes.</summary>
    public const int Version = 6;
    public const int DefaultSeed = 1;

    /// <summary>$XDG_CACHE_HOME/modelvis/builtin, else ~/.cache/modelvis/builtin (%LOCALAPPDATA% on Windows).</summary>
    public static string CacheRoot()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root;
        if (!string.IsNullOrEmpty(xdg)) root = xdg;
        else if (OperatingSystem.IsWindows()) root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        else root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "modelvis", "builtin");
    }

    /// <summary>The folder for this version and seed (it may not exist yet).</summary>
    public static string Folder(int seed = DefaultSeed) => Path.Combine(CacheRoot(), $"llama-v{Version}-seed{seed}");

    /// <summary>Whether a complete built-in model is already in the cache.</summary>
    public static bool IsReady(int seed = DefaultSeed) => File.Exists(Path.Combine(Folder(seed), Trainer.TrainingLogFile));

    /// <summary>
    /// Returns the cached model folder, training it first if it is not there (about 3 minutes on 2 cores).
    /// Trains into a temporary sibling folder and renames it into place, so a cancelled or crashed run never
    /// leaves a half-written model where the loader would find it.
    /// </summary>
    public static string Ensure(IProgress<(double Fraction, string Message)>? progress = null, CancellationToken cancel = default,
        Action<LossPoint>? onStep = null, int seed = DefaultSeed)
    {
        var dir = Folder(seed);
        if (IsReady(seed)) { progress?.Report((1, "built-in model ready")); return dir; }
        Directory.CreateDirectory(CacheRoot());
        var tmp = dir + ".partial-" + Environment.ProcessId;
        try
        {
            Trainer.Train(Corpus.ProjectSources(), TrainOptions.BuiltinDefault with { Seed = seed }, tmp, progress, cancel, onStep);
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            Directory.Move(tmp, dir);
        }
        finally
        {
            if (Directory.Exists(tmp)) try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
        return dir;
    }
}
