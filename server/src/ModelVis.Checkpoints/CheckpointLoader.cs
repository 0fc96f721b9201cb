using System.Text.Json;
using ModelVis.IO;

namespace ModelVis.Checkpoints;

/// <summary>
/// Opens what a user points at: a single weights file, or a Hugging Face model folder
/// (<c>model.safetensors</c>, sharded <c>model.safetensors.index.json</c>, other <c>*.safetensors</c>,
/// or a PyTorch <c>pytorch_model.bin</c>).
/// </summary>
public static class CheckpointLoader
{
    /// <summary>A shard index lists tensor names and file names: a few MB for the largest models.</summary>
    const long MaxIndexBytes = 64L << 20;

    /// <summary>Readers for formats other than safetensors, by file extension: every one is listed here.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string, ICheckpoint>> OtherFormats = new Dictionary<string, Func<string, ICheckpoint>>(StringComparer.OrdinalIgnoreCase)
    {
        // PyTorch zip checkpoints: pytorch_model.bin, .pt/.pth state dicts, Lightning .ckpt.
        [".bin"] = p => new PyTorchCheckpoint(p),
        [".pt"] = p => new PyTorchCheckpoint(p),
        [".pth"] = p => new PyTorchCheckpoint(p),
        [".ckpt"] = p => new PyTorchCheckpoint(p),
        // llama.cpp GGUF (v2, v3): float tensors read, block-quantized ones dequantized where ModelVis knows the type.
        [".gguf"] = p => new GgufFile(p),
        // ONNX models: the initializers are the weights.
        [".onnx"] = p => new Onnx.OnnxCheckpoint(p),
    };

    public static ICheckpoint Open(string path)
    {
        if (File.Exists(path)) return OpenFile(path);
        if (!Directory.Exists(path)) throw new CheckpointException($"{path}: no such file or folder");

        var index = System.IO.Path.Combine(path, "model.safetensors.index.json");
        if (File.Exists(index)) return OpenShardedIndex(index);
        var single = System.IO.Path.Combine(path, "model.safetensors");
        if (File.Exists(single)) return new SafetensorsFile(single);
        var safetensors = Directory.GetFiles(path, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (safetensors.Length > 0) return OpenMany(path, safetensors);
        foreach (var name in new[] { "pytorch_model.bin.index.json" })
        {
            var p = System.IO.Path.Combine(path, name);
            if (File.Exists(p)) return OpenShardedIndex(p);
        }
        foreach (var name in new[] { "pytorch_model.bin", "model.pt", "model.pth", "model.ckpt" })
        {
            var p = System.IO.Path.Combine(path, name);
            if (File.Exists(p)) return OpenFile(p);
        }
        throw new CheckpointException($"{path}: no weights found (looked for model.safetensors, model.safetensors.index.json, *.safetensors, pytorch_model.bin.index.json, pytorch_model.bin, model.pt, model.pth)");
    }

    static ICheckpoint OpenFile(string path)
    {
        var ext = System.IO.Path.GetExtension(path);
        if (ext.Equals(".safetensors", StringComparison.OrdinalIgnoreCase)) return new SafetensorsFile(path);
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return OpenShardedIndex(path);
        if (OtherFormats.TryGetValue(ext, out var open)) return open(path);
        if (GgufFile.IsGgufFile(path)) return new GgufFile(path); // Ollama's blobs have no extension
        throw new CheckpointException($"{System.IO.Path.GetFileName(path)}: unsupported checkpoint format \"{ext}\" (supported: .safetensors{string.Concat(OtherFormats.Keys.Select(k => ", " + k))})");
    }

    /// <summary>An <c>*.index.json</c> with a <c>weight_map</c> from tensor name to shard file.</summary>
    static ICheckpoint OpenShardedIndex(string indexPath)
    {
        var dir = System.IO.Path.GetDirectoryName(indexPath)!;
        string name = System.IO.Path.GetFileName(indexPath);
        HashSet<string> shards;
        var listed = new List<(string Tensor, string Shard)>();
        try
        {
            using var doc = JsonDocument.Parse(InputFile.ReadAllBytes(indexPath, MaxIndexBytes, m => new CheckpointException(m)));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{name}: not a JSON object with a \"weight_map\"");
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{name}: no \"weight_map\" object");
            shards = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() is not { Length: > 0 } shard)
                    throw new CheckpointException($"{name}: weight_map entry `{p.Name}` is not a file name");
                if (System.IO.Path.IsPathRooted(shard) || shard.Split('/', '\\').Contains(".."))
                    throw new CheckpointException($"{name}: weight_map entry `{p.Name}` points outside the model folder (\"{shard}\")");
                shards.Add(shard);
                listed.Add((p.Name, shard));
            }
        }
        catch (JsonException e) { throw new CheckpointException($"{name}: not valid JSON ({e.Message})", e); }
        catch (InvalidOperationException e) { throw new CheckpointException($"{name}: not valid UTF-8 JSON ({e.Message})", e); }
        foreach (var s in shards)
            if (!File.Exists(System.IO.Path.Combine(dir, s)))
                throw new CheckpointException($"{name}: shard \"{s}\" is listed in weight_map but missing from {dir}");
        var opened = OpenMany(dir, shards.Order(StringComparer.Ordinal).Select(s => System.IO.Path.Combine(dir, s)).ToArray());
        foreach (var (tensor, shard) in listed)
            if (!opened.TryGet(tensor, out var info) || System.IO.Path.GetFileName(info.File) != System.IO.Path.GetFileName(shard))
            {
                opened.Dispose();
                throw new CheckpointException(info == null
                    ? $"{name}: tensor `{tensor}` is listed in weight_map under {shard}, but no shard holds it"
                    : $"{name}: tensor `{tensor}` is listed in weight_map under {shard}, but it is in {System.IO.Path.GetFileName(info.File)}");
            }
        return opened;
    }

    static ICheckpoint OpenMany(string folder, string[] files)
    {
        if (files.Length == 1) return OpenFile(files[0]);
        var parts = new List<ICheckpoint>();
        try
        {
            foreach (var f in files) parts.Add(OpenFile(f));
            return new MultiFileCheckpoint(folder, parts);
        }
        catch
        {
            foreach (var p in parts) p.Dispose();
            throw;
        }
    }
}
