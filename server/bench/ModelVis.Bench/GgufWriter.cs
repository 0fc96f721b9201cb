using System.Text;

namespace ModelVis.Bench;

/// <summary>
/// A small GGUF v3 writer for the benchmark's random models: metadata key/value pairs, then tensor infos (dimensions
/// innermost first, ggml type, offset), then the data, each tensor aligned to 32 bytes. Tensor bytes are produced by a
/// callback while the file is written, so a multi-gigabyte model never sits in memory.
/// </summary>
public sealed class GgufWriter
{
    public const uint TypeF32 = 0, TypeQ8_0 = 8, TypeQ4_K = 12;
    const int Alignment = 32;

    enum ValueType : uint { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 }

    readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    readonly List<(string Name, long[] Dims, uint Type, long Bytes, Action<Stream> Write)> _tensors = [];

    public GgufWriter String(string key, string value) => Add(key, w => { w.Write((uint)ValueType.String); Str(w, value); });
    public GgufWriter U32(string key, uint value) => Add(key, w => { w.Write((uint)ValueType.U32); w.Write(value); });
    public GgufWriter F32(string key, float value) => Add(key, w => { w.Write((uint)ValueType.F32); w.Write(value); });

    public GgufWriter Strings(string key, IReadOnlyList<string> values) => Add(key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.String); w.Write((ulong)values.Count);
        foreach (var v in values) Str(w, v);
    });

    public GgufWriter F32s(string key, IReadOnlyList<float> values) => Add(key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.F32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    });

    public GgufWriter I32s(string key, IReadOnlyList<int> values) => Add(key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.I32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    });

    GgufWriter Add(string key, Action<BinaryWriter> write)
    {
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata key `{key}` added twice");
        _metadata.Add((key, write));
        return this;
    }

    /// <summary>A tensor of <paramref name="bytes"/> bytes; <paramref name="dims"/> innermost first (ne[0] = row length), as GGUF lists them.</summary>
    public GgufWriter Tensor(string name, uint type, long[] dims, long bytes, Action<Stream> write)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor `{name}` added twice");
        _tensors.Add((name, dims, type, bytes, write));
        return this;
    }

    public void Save(string path)
    {
        var tmp = path + ".tmp-" + Environment.ProcessId;
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            using (var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(0x46554747u); // "GGUF"
                w.Write(3u);
                w.Write((ulong)_tensors.Count);
                w.Write((ulong)_metadata.Count);
                foreach (var (key, write) in _metadata) { Str(w, key); write(w); }
                long offset = 0;
                foreach (var t in _tensors)
                {
                    Str(w, t.Name);
                    w.Write((uint)t.Dims.Length);
                    foreach (var d in t.Dims) w.Write((ulong)d);
                    w.Write(t.Type);
                    w.Write((ulong)offset);
                    offset = Align(offset + t.Bytes);
                }
            }
            Pad(fs);
            foreach (var t in _tensors)
            {
                long start = fs.Position;
                t.Write(fs);
                if (fs.Position - start != t.Bytes)
                    throw new InvalidOperationException($"tensor `{t.Name}`: wrote {fs.Position - start} bytes, declared {t.Bytes}");
                Pad(fs);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;

    static void Pad(Stream s)
    {
        int pad = (int)(Align(s.Position) - s.Position);
        if (pad > 0) s.Write(new byte[pad]);
    }

    static void Str(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
