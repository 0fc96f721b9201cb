using System.Collections.Concurrent;
using ModelVis.Checkpoints;

namespace ModelVis.Host;

/// <summary>What the host keeps between requests: open checkpoints (by full path) and recent runs.</summary>
public sealed class Session : IDisposable
{
    readonly ConcurrentDictionary<string, Lazy<ICheckpoint>> _checkpoints = new();

    /// <summary>The checkpoint at <paramref name="path"/>, opened once and kept; reopened if its files changed.</summary>
    public ICheckpoint Checkpoint(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var lazy = _checkpoints.GetOrAdd(full, p => new Lazy<ICheckpoint>(() => CheckpointLoader.Open(p)));
        try { return lazy.Value; }
        catch { _checkpoints.TryRemove(full, out _); throw; }
    }

    /// <summary>Forgets a checkpoint (after its files changed on disk).</summary>
    public void Forget(string path)
    {
        if (_checkpoints.TryRemove(System.IO.Path.GetFullPath(path), out var lazy) && lazy.IsValueCreated) lazy.Value.Dispose();
    }

    public void Dispose()
    {
        foreach (var l in _checkpoints.Values) if (l.IsValueCreated) l.Value.Dispose();
        _checkpoints.Clear();
    }
}
