using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ModelVis.IO;

namespace ModelVis.Checkpoints.Onnx;

/// <summary>ONNX <c>TensorProto.DataType</c> values.</summary>
public enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8,
    Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16,
}

/// <summary>
/// A <c>TensorProto</c>: name, type, dims and where its values are. Values stay in the file buffer when they
/// are stored as <c>raw_data</c> (or a packed <c>float_data</c>, which has the same little-endian layout);
/// otherwise they are decoded from the typed repeated fields.
/// </summary>
public sealed class OnnxTensor
{
    public string Name { get; internal set; } = "";
    public OnnxDataType DataType { get; internal set; }
    public long[] Dims { get; internal set; } = [];
    /// <summary>File offset and length of the values when they lie contiguously in the file, little-endian; else -1.</summary>
    public long DataOffset { get; internal set; } = -1;
    public long DataLength { get; internal set; }
    public bool IsExternal { get; internal set; }
    internal List<float>? FloatValues;
    internal List<long>? IntValues;      // int32_data, int64_data, uint64_data (widened)
    internal List<double>? DoubleValues;

    /// <summary>Elements of <see cref="Dims"/>; the reader has checked that dims are non-negative and that this and <see cref="ByteLength"/> do not overflow.</summary>
    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => ElementCount * ElementSize;

    public int ElementSize => DataType switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Complex64 => 8,
        OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
        OnnxDataType.Complex128 => 16,
        _ => 1,
    };

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";

    /// <summary>The values as little-endian bytes in the element type's own layout (what safetensors stores).</summary>
    public byte[] ToBytes(ReadOnlySpan<byte> file)
    {
        if (IsExternal)
            throw new OnnxFormatException($"tensor `{Name}` keeps its values in an external data file; external data is not supported (re-save the model with all tensors inside the .onnx file)");
        if (DataType == OnnxDataType.String) throw new OnnxFormatException($"tensor `{Name}` holds strings, which are not numeric values");
        if (ByteLength > Array.MaxLength)
            throw new OnnxFormatException($"tensor `{Name}` {ShapeText} of {DataType} is {ByteLength} bytes, more than ModelVis reads into memory at once");
        long count = ElementCount;
        long bytes = ByteLength;
        if (DataOffset >= 0)
        {
            if (DataLength != bytes)
                throw new OnnxFormatException($"tensor `{Name}` {ShapeText} of {DataType} needs {bytes} bytes but stores {DataLength}");
            if (DataOffset + DataLength > file.Length) throw new OnnxFormatException($"tensor `{Name}` runs past the end of the file");
            return file.Slice((int)DataOffset, (int)DataLength).ToArray();
        }
        // The values must be there before anything the size of the shape is allocated.
        int have = FloatValues?.Count ?? IntValues?.Count ?? DoubleValues?.Count ?? 0;
        if (have != count)
            throw new OnnxFormatException($"tensor `{Name}` {ShapeText} has {count} elements but stores {have} values");
        var result = new byte[bytes];
        var span = result.AsSpan();
        switch (DataType)
        {
            case OnnxDataType.Float:
                if (FloatValues == null) break;
                MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(FloatValues)).CopyTo(span);
                return result;
            case OnnxDataType.Double:
                if (DoubleValues == null) break;
                MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(DoubleValues)).CopyTo(span);
                return result;
        }
        if (IntValues == null) throw new OnnxFormatException($"tensor `{Name}` of {DataType} stores its values in a field that does not fit its type");
        for (int i = 0; i < IntValues.Count; i++)
        {
            long v = IntValues[i];
            switch (ElementSize)
            {
                case 1: span[i] = (byte)v; break;
                case 2: BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(i * 2), (ushort)v); break;
                case 4: BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(i * 4), (uint)v); break;
                default: BinaryPrimitives.WriteInt64LittleEndian(span.Slice(i * 8), v); break;
            }
        }
        return result;
    }

    /// <summary>The values widened to float32 (float, double, float16, bfloat16 and the integer types).</summary>
    public float[] ToFloats(ReadOnlySpan<byte> file)
    {
        var bytes = ToBytes(file);
        var result = new float[ElementCount];
        switch (DataType)
        {
            case OnnxDataType.Float: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result); break;
            case OnnxDataType.Double: FloatConversion.Widen(ModelVis.Checkpoints.DType.F64, bytes, result); break;
            case OnnxDataType.Float16: FloatConversion.Widen(ModelVis.Checkpoints.DType.F16, bytes, result); break;
            case OnnxDataType.BFloat16: FloatConversion.Widen(ModelVis.Checkpoints.DType.BF16, bytes, result); break;
            default:
                var ints = ToInt64s(bytes);
                for (int i = 0; i < ints.Length; i++) result[i] = ints[i];
                break;
        }
        return result;
    }

    /// <summary>The values as int64 (integer and bool types; floats are truncated).</summary>
    public long[] ToInt64s(ReadOnlySpan<byte> file) => ToInt64s(ToBytes(file));

    long[] ToInt64s(byte[] bytes)
    {
        var result = new long[ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DataType switch
            {
                OnnxDataType.Int64 or OnnxDataType.UInt64 => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8)),
                OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4)),
                OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4)),
                OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(i * 2)),
                OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)),
                OnnxDataType.Int8 => (sbyte)bytes[i],
                OnnxDataType.UInt8 or OnnxDataType.Bool => bytes[i],
                OnnxDataType.Float => (long)BitConverter.ToSingle(bytes, i * 4),
                OnnxDataType.Double => (long)BitConverter.ToDouble(bytes, i * 8),
                _ => throw new OnnxFormatException($"tensor `{Name}` of {DataType} cannot be read as integers"),
            };
        }
        return result;
    }

    /// <summary>The checkpoint dtype this tensor maps to, or null for types the checkpoint browser does not know.</summary>
    public DType? CheckpointDType => DataType switch
    {
        OnnxDataType.Float => DType.F32, OnnxDataType.Double => DType.F64, OnnxDataType.Float16 => DType.F16,
        OnnxDataType.BFloat16 => DType.BF16, OnnxDataType.Int64 => DType.I64, OnnxDataType.Int32 => DType.I32,
        OnnxDataType.Int16 => DType.I16, OnnxDataType.Int8 => DType.I8, OnnxDataType.UInt8 => DType.U8,
        OnnxDataType.Bool => DType.Bool, OnnxDataType.UInt16 => DType.U16, OnnxDataType.UInt32 => DType.U32,
        OnnxDataType.UInt64 => DType.U64, _ => null,
    };
}

public enum OnnxAttributeType { Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8, Tensors = 9, Graphs = 10 }

/// <summary>An <c>AttributeProto</c>: one named hyperparameter of a node.</summary>
public sealed class OnnxAttribute
{
    public string Name { get; internal set; } = "";
    public OnnxAttributeType Type { get; internal set; }
    public float F { get; internal set; }
    public long I { get; internal set; }
    public string S { get; internal set; } = "";
    public OnnxTensor? T { get; internal set; }
    public List<float> Floats { get; } = new();
    public List<long> Ints { get; } = new();
    public List<string> Strings { get; } = new();
}

/// <summary>A <c>NodeProto</c>: one operator call.</summary>
public sealed class OnnxNode
{
    public string Name { get; internal set; } = "";
    public string OpType { get; internal set; } = "";
    public string Domain { get; internal set; } = "";
    public List<string> Inputs { get; } = new();
    public List<string> Outputs { get; } = new();
    public Dictionary<string, OnnxAttribute> Attributes { get; } = new();

    /// <summary>The node's name, or its first output's name where the exporter left it unnamed.</summary>
    public string DisplayName => Name.Length > 0 ? Name : Outputs.Count > 0 ? Outputs[0] : OpType;
}

/// <summary>A <c>ValueInfoProto</c>: a graph input/output with its element type and shape (null dims are symbolic).</summary>
public sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, long?[]? Shape);

/// <summary>A <c>GraphProto</c>.</summary>
public sealed class OnnxGraph
{
    public string Name { get; internal set; } = "";
    public List<OnnxNode> Nodes { get; } = new();
    public List<OnnxTensor> Initializers { get; } = new();
    public List<OnnxValueInfo> Inputs { get; } = new();
    public List<OnnxValueInfo> Outputs { get; } = new();
    public List<OnnxValueInfo> ValueInfo { get; } = new();
}

/// <summary>
/// A parsed <c>ModelProto</c>. The file's bytes are kept so tensor values can be read on demand.
/// </summary>
public sealed class OnnxModel
{
    public string Path { get; }
    public byte[] FileBytes { get; }
    public long IrVersion { get; private set; }
    public string ProducerName { get; private set; } = "";
    public string ProducerVersion { get; private set; } = "";
    /// <summary>Opset version per domain ("" = the default ai.onnx domain).</summary>
    public Dictionary<string, long> Opsets { get; } = new();
    public OnnxGraph Graph { get; private set; } = new();
    /// <summary>The model's <c>metadata_props</c> (ModelProto field 14): free-form key/value pairs.</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public long DefaultOpset => Opsets.TryGetValue("", out var v) ? v : Opsets.TryGetValue("ai.onnx", out v) ? v : 1;

    OnnxModel(string path, byte[] bytes) { Path = path; FileBytes = bytes; }

    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return Parse(InputFile.ReadAllBytes(path, Array.MaxLength, m => new OnnxFormatException(m)), path);
    }

    public static OnnxModel Parse(byte[] bytes, string path = "model.onnx")
    {
        var model = new OnnxModel(path, bytes);
        string file = System.IO.Path.GetFileName(path);
        try
        {
            model.ReadModel(new ProtoWireReader(bytes));
        }
        catch (OnnxFormatException e)
        {
            throw new OnnxFormatException($"{file}: {e.Message}", e);
        }
        if (model.Graph.Nodes.Count == 0 && model.Graph.Initializers.Count == 0)
            throw new OnnxFormatException($"{file}: not an ONNX model (no graph with nodes or initializers found)");
        return model;
    }

    void ReadModel(ProtoWireReader r)
    {
        bool sawGraph = false;
        while (r.TryReadTag(out int field, out int wt))
        {
            switch (field)
            {
                case 1 when wt == ProtoWireReader.Varint: IrVersion = r.ReadInt64(); break;
                case 2 when wt == ProtoWireReader.LengthDelimited: ProducerName = r.ReadString(); break;
                case 3 when wt == ProtoWireReader.LengthDelimited: ProducerVersion = r.ReadString(); break;
                case 7 when wt == ProtoWireReader.LengthDelimited:
                {
                    var span = r.ReadLengthDelimited(out long off);
                    Graph = ReadGraph(new ProtoWireReader(span, off));
                    sawGraph = true;
                    break;
                }
                case 8 when wt == ProtoWireReader.LengthDelimited:
                {
                    var span = r.ReadLengthDelimited(out long off);
                    var (domain, version) = ReadOpset(new ProtoWireReader(span, off));
                    Opsets[domain] = version;
                    break;
                }
                case 14 when wt == ProtoWireReader.LengthDelimited:
                {
                    var span = r.ReadLengthDelimited(out long off);
                    var (key, value) = ReadStringPair(new ProtoWireReader(span, off));
                    Metadata[key] = value;
                    break;
                }
                default: r.Skip(wt); break;
            }
        }
        if (!sawGraph) throw new OnnxFormatException("no graph (ModelProto field 7) found");
    }

    /// <summary>StringStringEntryProto: key (1), value (2).</summary>
    static (string, string) ReadStringPair(ProtoWireReader r)
    {
        string key = "", value = "";
        while (r.TryReadTag(out int field, out int wt))
        {
            if (field == 1 && wt == ProtoWireReader.LengthDelimited) key = r.ReadString();
            else if (field == 2 && wt == ProtoWireReader.LengthDelimited) value = r.ReadString();
            else r.Skip(wt);
        }
        return (key, value);
    }

    static (string, long) ReadOpset(ProtoWireReader r)
    {
        string domain = ""; long version = 0;
        while (r.TryReadTag(out int field, out int wt))
        {
            if (field == 1 && wt == ProtoWireReader.LengthDelimited) domain = r.ReadString();
            else if (field == 2 && wt == ProtoWireReader.Varint) version = r.ReadInt64();
            else r.Skip(wt);
        }
        return (domain, version);
    }

    static OnnxGraph ReadGraph(ProtoWireReader r)
    {
        var g = new OnnxGraph();
        while (r.TryReadTag(out int field, out int wt))
        {
            if (wt != ProtoWireReader.LengthDelimited) { r.Skip(wt); continue; }
            var span = r.ReadLengthDelimited(out long off);
            var sub = new ProtoWireReader(span, off);
            switch (field)
            {
                case 1: g.Nodes.Add(ReadNode(sub)); break;
                case 2: g.Name = System.Text.Encoding.UTF8.GetString(span); break;
                case 5: g.Initializers.Add(ReadTensor(sub)); break;
                case 11: g.Inputs.Add(ReadValueInfo(sub)); break;
                case 12: g.Outputs.Add(ReadValueInfo(sub)); break;
                case 13: g.ValueInfo.Add(ReadValueInfo(sub)); break;
                case 15: throw new OnnxFormatException("sparse initializers are not supported");
            }
        }
        return g;
    }

    static OnnxNode ReadNode(ProtoWireReader r)
    {
        var n = new OnnxNode();
        while (r.TryReadTag(out int field, out int wt))
        {
            switch (field)
            {
                case 1: r.Expect(wt, 2, "NodeProto.input"); n.Inputs.Add(r.ReadString()); break;
                case 2: r.Expect(wt, 2, "NodeProto.output"); n.Outputs.Add(r.ReadString()); break;
                case 3: r.Expect(wt, 2, "NodeProto.name"); n.Name = r.ReadString(); break;
                case 4: r.Expect(wt, 2, "NodeProto.op_type"); n.OpType = r.ReadString(); break;
                case 7: r.Expect(wt, 2, "NodeProto.domain"); n.Domain = r.ReadString(); break;
                case 5:
                {
                    r.Expect(wt, 2, "NodeProto.attribute");
                    var span = r.ReadLengthDelimited(out long off);
                    var a = ReadAttribute(new ProtoWireReader(span, off));
                    n.Attributes[a.Name] = a;
                    break;
                }
                default: r.Skip(wt); break;
            }
        }
        return n;
    }

    static OnnxAttribute ReadAttribute(ProtoWireReader r)
    {
        var a = new OnnxAttribute();
        while (r.TryReadTag(out int field, out int wt))
        {
            switch (field)
            {
                case 1: r.Expect(wt, 2, "AttributeProto.name"); a.Name = r.ReadString(); break;
                case 20: r.Expect(wt, 0, "AttributeProto.type"); a.Type = (OnnxAttributeType)r.ReadInt32(); break;
                case 2: r.Expect(wt, 5, "AttributeProto.f"); a.F = r.ReadFloat(); break;
                case 3: r.Expect(wt, 0, "AttributeProto.i"); a.I = r.ReadInt64(); break;
                case 4: r.Expect(wt, 2, "AttributeProto.s"); a.S = r.ReadString(); break;
                case 5:
                {
                    r.Expect(wt, 2, "AttributeProto.t");
                    var span = r.ReadLengthDelimited(out long off);
                    a.T = ReadTensor(new ProtoWireReader(span, off));
                    break;
                }
                case 7: r.ReadRepeatedFloat(wt, a.Floats); break;
                case 8: r.ReadRepeatedVarint(wt, a.Ints); break;
                case 9: r.Expect(wt, 2, "AttributeProto.strings"); a.Strings.Add(r.ReadString()); break;
                default: r.Skip(wt); break;
            }
        }
        // Files from old exporters leave `type` unset: infer it from the field that is present.
        if (a.Type == OnnxAttributeType.Undefined)
            a.Type = a.T != null ? OnnxAttributeType.Tensor : a.Ints.Count > 0 ? OnnxAttributeType.Ints
                : a.Floats.Count > 0 ? OnnxAttributeType.Floats : a.Strings.Count > 0 ? OnnxAttributeType.Strings
                : a.S.Length > 0 ? OnnxAttributeType.String : a.F != 0 ? OnnxAttributeType.Float : OnnxAttributeType.Int;
        return a;
    }

    /// <summary>Parses one serialized <c>TensorProto</c> (offsets are relative to <paramref name="bytes"/>).</summary>
    public static OnnxTensor ParseTensorProto(ReadOnlySpan<byte> bytes) => ReadTensor(new ProtoWireReader(bytes));

    internal static OnnxTensor ReadTensor(ProtoWireReader r)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        bool dataLocationExternal = false;
        while (r.TryReadTag(out int field, out int wt))
        {
            switch (field)
            {
                case 1: r.ReadRepeatedVarint(wt, dims); break;
                case 2: r.Expect(wt, 0, "TensorProto.data_type"); t.DataType = (OnnxDataType)r.ReadInt32(); break;
                case 8: r.Expect(wt, 2, "TensorProto.name"); t.Name = r.ReadString(); break;
                case 9:
                {
                    r.Expect(wt, 2, "TensorProto.raw_data");
                    var span = r.ReadLengthDelimited(out long off);
                    t.DataOffset = off; t.DataLength = span.Length;
                    break;
                }
                case 4:
                    if (wt == ProtoWireReader.LengthDelimited && t.FloatValues == null)
                    {
                        // A packed float_data run is little-endian float32s back to back: the same layout as raw_data.
                        var span = r.ReadLengthDelimited(out long off);
                        t.DataOffset = off; t.DataLength = span.Length;
                    }
                    else
                    {
                        t.FloatValues ??= new();
                        r.ReadRepeatedFloat(wt, t.FloatValues);
                    }
                    break;
                case 5: case 7: case 11: t.IntValues ??= new(); r.ReadRepeatedVarint(wt, t.IntValues); break;
                case 10: t.DoubleValues ??= new(); r.ReadRepeatedDouble(wt, t.DoubleValues); break;
                case 13: r.Skip(wt); t.IsExternal = true; break;
                case 14: r.Expect(wt, 0, "TensorProto.data_location"); dataLocationExternal = r.ReadInt32() == 1; break;
                case 3: throw new OnnxFormatException("segmented tensors are not supported");
                default: r.Skip(wt); break;
            }
        }
        t.Dims = dims.ToArray();
        // Dims come from the file: negative ones, or a shape whose byte size overflows (2^31 × 2^40), are refused here,
        // so ElementCount and ByteLength are safe everywhere after.
        if (t.Dims.Any(d => d < 0))
            throw new OnnxFormatException($"tensor `{t.Name}` has a negative dimension in {t.ShapeText}");
        try { _ = checked(t.Dims.Aggregate(1L, (a, b) => checked(a * b)) * t.ElementSize); }
        catch (OverflowException) { throw new OnnxFormatException($"tensor `{t.Name}` {t.ShapeText} is too large (its byte size overflows 64 bits)"); }
        if (dataLocationExternal) t.IsExternal = true;
        // A float_data field that appeared both packed and unpacked: fold the packed run into the list.
        if (t.FloatValues != null && t.DataOffset >= 0 && t.DataType != OnnxDataType.Float)
            t.DataOffset = -1;
        // Ints stored in a packed float run for a non-float type cannot happen; raw_data with a type other than float is fine.
        return t;
    }

    static OnnxValueInfo ReadValueInfo(ProtoWireReader r)
    {
        string name = ""; OnnxDataType elem = OnnxDataType.Undefined; long?[]? shape = null;
        while (r.TryReadTag(out int field, out int wt))
        {
            if (field == 1 && wt == 2) name = r.ReadString();
            else if (field == 2 && wt == 2)
            {
                var span = r.ReadLengthDelimited(out long off);
                var tr = new ProtoWireReader(span, off);
                while (tr.TryReadTag(out int tf, out int twt))
                {
                    if (tf == 1 && twt == 2)
                    {
                        var ts = tr.ReadLengthDelimited(out long toff);
                        (elem, shape) = ReadTensorType(new ProtoWireReader(ts, toff));
                    }
                    else tr.Skip(twt);
                }
            }
            else r.Skip(wt);
        }
        return new OnnxValueInfo(name, elem, shape);
    }

    static (OnnxDataType, long?[]?) ReadTensorType(ProtoWireReader r)
    {
        OnnxDataType elem = OnnxDataType.Undefined; long?[]? shape = null;
        while (r.TryReadTag(out int field, out int wt))
        {
            if (field == 1 && wt == 0) elem = (OnnxDataType)r.ReadInt32();
            else if (field == 2 && wt == 2)
            {
                var dims = new List<long?>();
                var sr = new ProtoWireReader(r.ReadLengthDelimited(out long off), off);
                while (sr.TryReadTag(out int sf, out int swt))
                {
                    if (sf == 1 && swt == 2)
                    {
                        long? value = null;
                        var dr = new ProtoWireReader(sr.ReadLengthDelimited(out long doff), doff);
                        while (dr.TryReadTag(out int df, out int dwt))
                        {
                            if (df == 1 && dwt == 0) value = dr.ReadInt64();
                            else dr.Skip(dwt);
                        }
                        dims.Add(value);
                    }
                    else sr.Skip(swt);
                }
                shape = dims.ToArray();
            }
            else r.Skip(wt);
        }
        return (elem, shape);
    }
}
