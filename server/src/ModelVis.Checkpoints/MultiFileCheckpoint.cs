namespace ModelVis.Checkpoints;

/// <summary>Several checkpoint files seen as one (sharded safetensors, or a folder with several weight files).</summary>
public sealed class MultiFileCheckpoint : ICheckpoint
{
    readonly ICheckpoint[] _parts;
    readonly Dictionary<string, ICheckpoint> _owner = new();

    public string Path { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public MultiFileCheckpoint(string path, IEnumerable<ICheckpoint> parts)
    {
        Path = path;
        _parts = parts.ToArray();
        var all = new List<TensorInfo>();
        foreach (var part in _parts)
            foreach (var t in part.Tensors)
            {
                if (_owner.TryAdd(t.Name, part)) all.Add(t);
                else throw new CheckpointException($"{System.IO.Path.GetFileName(path)}: tensor `{t.Name}` appears in both {System.IO.Path.GetFileName(_owner[t.Name].Path)} and {System.IO.Path.GetFileName(part.Path)}");
            }
        Tensors = all;
    }

    public bool TryGet(string name, out TensorInfo info)
    {
        if (_owner.TryGetValue(name, out var part)) return part.TryGet(name, out info);
        info = null!;
        return false;
    }

    public void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        if (!_owner.TryGetValue(tensor.Name, out var part))
            throw new CheckpointException($"{System.IO.Path.GetFileName(Path)}: no tensor named `{tensor.Name}`");
        part.ReadBytes(tensor, byteOffset, destination);
    }

    public void Dispose()
    {
        foreach (var p in _parts) p.Dispose();
    }
}
