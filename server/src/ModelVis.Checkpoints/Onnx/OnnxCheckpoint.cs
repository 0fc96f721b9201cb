using Microsoft.Win32.SafeHandles;

namespace ModelVis.Checkpoints.Onnx;

/// <summary>
/// The weights of an ONNX model as a checkpoint: every initializer, then every <c>Constant</c> node's
/// tensor (named by the node's output), so the checkpoint browser lists an <c>.onnx</c> file like any other.
/// Values stored contiguously in the file are read from it on demand; the rest (typed repeated fields)
/// are decoded once when the file is opened.
/// </summary>
public sealed class OnnxCheckpoint : ICheckpoint
{
    readonly List<TensorInfo> _tensors = new();
    readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);
    readonly Dictionary<string, byte[]> _decoded = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _unreadable = new(StringComparer.Ordinal);
    readonly SafeFileHandle _handle;

    public string Path { get; }
    public IReadOnlyList<TensorInfo> Tensors => _tensors;

    public OnnxCheckpoint(string path)
    {
        Path = path;
        OnnxModel model;
        try { model = OnnxModel.Load(path); }
        catch (OnnxFormatException e) { throw new CheckpointException(e.Message, e); }
        string file = System.IO.Path.GetFileName(path);

        var weights = model.Graph.Initializers.Select(t => (t.Name, Tensor: t)).ToList();
        foreach (var node in model.Graph.Nodes)
            if (node.OpType == "Constant" && node.Attributes.TryGetValue("value", out var a) && a.T != null && node.Outputs.Count > 0)
                weights.Add((node.Outputs[0], a.T));

        foreach (var (name, t) in weights)
        {
            if (_byName.ContainsKey(name)) continue;
            if (t.CheckpointDType is not DType dtype) continue; // strings, complex: nothing to show as numbers
            long bytes = t.ByteLength;
            TensorInfo info;
            if (t.IsExternal)
            {
                info = new TensorInfo(name, dtype, t.Dims, path, 0, bytes);
                _unreadable[name] = $"{file}: tensor `{name}` keeps its values in an external data file, which is not supported";
            }
            else if (t.DataOffset >= 0 && t.DataLength == bytes)
                info = new TensorInfo(name, dtype, t.Dims, path, t.DataOffset, bytes);
            else
            {
                try { _decoded[name] = t.ToBytes(model.FileBytes); }
                catch (OnnxFormatException e) { throw new CheckpointException($"{file}: {e.Message}", e); }
                info = new TensorInfo(name, dtype, t.Dims, path, -1, bytes);
            }
            _tensors.Add(info);
            _byName[name] = info;
        }
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    public bool TryGet(string name, out TensorInfo info) => _byName.TryGetValue(name, out info!);

    public void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        if (_unreadable.TryGetValue(tensor.Name, out var why)) throw new CheckpointException(why);
        if (byteOffset < 0 || byteOffset + destination.Length > tensor.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteOffset));
        if (_decoded.TryGetValue(tensor.Name, out var bytes))
        {
            bytes.AsSpan((int)byteOffset, destination.Length).CopyTo(destination);
            return;
        }
        int read = RandomAccess.Read(_handle, destination, tensor.Offset + byteOffset);
        if (read != destination.Length)
            throw new CheckpointException($"{System.IO.Path.GetFileName(Path)}: tensor `{tensor.Name}` ends past the end of the file");
    }

    public void Dispose() => _handle.Dispose();
}
