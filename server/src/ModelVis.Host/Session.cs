using System.Collections.Concurrent;
using ModelVis.Checkpoints;
using ModelVis.Host.Attention;
using ModelVis.Host.Features;
using ModelVis.Vision;

namespace ModelVis.Host;

/// <summary>What the host keeps between requests: open checkpoints (by full path) and recent runs.</summary>
public sealed class Session : IDisposable
{
    readonly ConcurrentDictionary<string, Lazy<ICheckpoint>> _checkpoints = new();
    readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new();
    readonly ConcurrentDictionary<string, AttentionRun> _runs = new();
    readonly ConcurrentQueue<string> _runOrder = new();
    int _nextRun;

    /// <summary>Runs kept at once (older ones are released); each holds its hidden states and an attention cache.</summary>
    public int MaxRuns { get; init; } = 6;
    /// <summary>Bytes of recomputed attention each run may cache.</summary>
    public long AttentionCacheBytes { get; init; } = 512L << 20;

    /// <summary>The checkpoint at <paramref name="path"/>, opened once and kept; reopened if its files changed.</summary>
    public ICheckpoint Checkpoint(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return OpenOnce(_checkpoints, full, () => CheckpointLoader.Open(full));
    }

    /// <summary>Forgets a checkpoint (after its files changed on disk).</summary>
    public void Forget(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (_checkpoints.TryRemove(full, out var lazy) && lazy.IsValueCreated) lazy.Value.Dispose();
        if (_models.TryRemove(full, out var model) && model.IsValueCreated) model.Value.Dispose();
    }

    /// <summary>The language model in <paramref name="folder"/>, loaded once (weights packed) and kept.</summary>
    public LoadedModel Model(string folder)
    {
        var full = System.IO.Path.GetFullPath(folder);
        return OpenOnce(_models, full, () => LoadedModel.Load(full));
    }

    /// <summary>Opens once per key, even when asked concurrently; a failed open is not cached, so it is retried next time.</summary>
    static T OpenOnce<T>(ConcurrentDictionary<string, Lazy<T>> cache, string key, Func<T> open)
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<T>(open));
        try { return lazy.Value; }
        catch { cache.TryRemove(key, out _); throw; }
    }

    public AttentionRun AddRun(Func<string, AttentionRun> create)
    {
        var id = "run" + Interlocked.Increment(ref _nextRun);
        var run = create(id);
        _runs[id] = run;
        _runOrder.Enqueue(id);
        while (_runs.Count > MaxRuns && _runOrder.TryDequeue(out var old)) Release(old);
        return run;
    }

    public AttentionRun Run(string id) => _runs.TryGetValue(id, out var run) ? run
        : throw new ModelVis.Models.ModelException($"run \"{id}\" is no longer held by the host (it was released or the host restarted); visualize again");

    public void Release(string id)
    {
        if (_runs.TryRemove(id, out var run)) run.Dispose();
    }

    // CNN feature maps (issue 7): vision models by path (+ sidecar, + file times) and the last feature runs by id.
    readonly ConcurrentDictionary<string, Lazy<VisionModel>> _visionModels = new();
    readonly ConcurrentDictionary<string, FeatureRunEntry> _featureRuns = new();
    readonly ConcurrentQueue<string> _featureRunOrder = new();
    int _nextFeatureRun;

    /// <summary>Feature runs kept at once (each holds every layer's output).</summary>
    public int MaxFeatureRuns { get; init; } = 8;

    /// <summary>The CNN at <paramref name="path"/> (with its sidecar), opened once and reopened when it, the sidecar or a preprocessor_config.json beside it changes.</summary>
    public VisionModel VisionModel(string path, string? archPath)
    {
        var full = System.IO.Path.GetFullPath(path);
        var arch = archPath != null ? System.IO.Path.GetFullPath(archPath) : null;
        static long Stamp(string? f) => f != null && File.Exists(f) ? File.GetLastWriteTimeUtc(f).Ticks : 0;
        // A preprocessor_config.json written (or edited) beside the model changes its default preprocessing.
        var key = $"{full}|{arch}|{Stamp(full)}|{Stamp(arch)}|{Stamp(ModelVis.Vision.Images.PreprocessorConfig.FindBeside(full))}";
        return OpenOnce(_visionModels, key, () => ModelVis.Vision.VisionModel.Open(full, arch));
    }

    public FeatureRunEntry AddFeatureRun(VisionModel model, FeatureRun run)
    {
        var id = "features" + Interlocked.Increment(ref _nextFeatureRun);
        var entry = new FeatureRunEntry(id, model, run);
        _featureRuns[id] = entry;
        _featureRunOrder.Enqueue(id);
        while (_featureRuns.Count > MaxFeatureRuns && _featureRunOrder.TryDequeue(out var old)) _featureRuns.TryRemove(old, out _);
        return entry;
    }

    public FeatureRunEntry FeatureRun(string id) => _featureRuns.TryGetValue(id, out var entry) ? entry
        : throw new VisionException($"feature run \"{id}\" is no longer held by the host (it was released or the host restarted); show the feature maps again");

    public void ReleaseFeatureRun(string id) => _featureRuns.TryRemove(id, out _);

    public void Dispose()
    {
        foreach (var r in _runs.Values) r.Dispose();
        foreach (var m in _models.Values) if (m.IsValueCreated) m.Value.Dispose();
        foreach (var l in _checkpoints.Values) if (l.IsValueCreated) l.Value.Dispose();
        _checkpoints.Clear();
    }
}
