using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace ModelVis.Checkpoints;

/// <summary>
/// Writes a <c>.safetensors</c> file the way the reference writer does: tensors laid out in the order
/// given, header JSON padded with spaces to a multiple of 8 bytes.
/// </summary>
public sealed class SafetensorsWriter
{
    readonly List<(string Name, DType DType, long[] Shape, byte[] Data)> _tensors = new();
    readonly Dictionary<string, string> _metadata = new();

    public SafetensorsWriter AddMetadata(string key, string value) { _metadata[key] = value; return this; }

    public SafetensorsWriter Add(string name, ReadOnlySpan<float> values, params long[] shape) =>
        AddRaw(name, DType.F32, shape, MemoryMarshal.AsBytes(values).ToArray());

    public SafetensorsWriter Add(string name, ReadOnlySpan<long> values, params long[] shape) =>
        AddRaw(name, DType.I64, shape, MemoryMarshal.AsBytes(values).ToArray());

    public SafetensorsWriter AddRaw(string name, DType dtype, long[] shape, byte[] data)
    {
        if (dtype.IsQuantized()) throw new ArgumentException($"tensor `{name}`: {dtype.Name()} is a GGUF block type, which safetensors cannot hold");
        long expected = shape.Aggregate(1L, (a, b) => a * b) * dtype.Size();
        if (data.Length != expected) throw new ArgumentException($"tensor `{name}`: {data.Length} bytes for shape [{string.Join(", ", shape)}] of {dtype.Name()} (needs {expected})");
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor `{name}` added twice");
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    public void Save(string path)
    {
        var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (_metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.Name());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - header.Length % 8) % 8);
        for (int i = 0; i < pad; i++) header.WriteByte((byte)' ');

        var tmp = path + ".tmp-" + Environment.ProcessId;
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            fs.Write(BitConverter.GetBytes((ulong)header.Length));
            header.Position = 0;
            header.CopyTo(fs);
            foreach (var t in _tensors) fs.Write(t.Data);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
