using System.Text;

namespace ModelVis.Vision.Tests;

/// <summary>Writes small ONNX models in the protobuf wire format, for tests of the reader and interpreter.</summary>
sealed class OnnxBuilder
{
    readonly List<byte[]> _nodes = new(), _inits = new(), _inputs = new(), _outputs = new();
    public long Opset { get; set; } = 13;
    /// <summary>ModelProto.metadata_props (field 14).</summary>
    public Dictionary<string, string> Metadata { get; } = new();

    public OnnxBuilder Input(string name, params long[] dims) { _inputs.Add(ValueInfo(name, dims)); return this; }
    public OnnxBuilder Output(string name) { _outputs.Add(ValueInfo(name, [])); return this; }

    public OnnxBuilder Initializer(string name, float[] values, params long[] dims)
    {
        var t = new Msg().Packed(1, dims).Varint(2, 1).Str(8, name).Bytes(9, values.SelectMany(BitConverter.GetBytes).ToArray());
        _inits.Add(t.ToArray());
        return this;
    }

    /// <summary>An initializer stored in the typed float_data field (packed), not raw_data.</summary>
    public OnnxBuilder InitializerAsFloatData(string name, float[] values, params long[] dims)
    {
        var t = new Msg().Packed(1, dims).Varint(2, 1).Str(8, name).Bytes(4, values.SelectMany(BitConverter.GetBytes).ToArray());
        _inits.Add(t.ToArray());
        return this;
    }

    public OnnxBuilder Int64Initializer(string name, long[] values, params long[] dims)
    {
        var t = new Msg().Packed(1, dims).Varint(2, 7).Str(8, name).Packed(7, values);
        _inits.Add(t.ToArray());
        return this;
    }

    public OnnxBuilder Node(string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attrs)
    {
        var n = new Msg();
        foreach (var i in inputs) n.Str(1, i);
        foreach (var o in outputs) n.Str(2, o);
        n.Str(3, name).Str(4, op);
        foreach (var (an, av) in attrs)
        {
            var a = new Msg().Str(1, an);
            switch (av)
            {
                case long l: a.Varint(3, (ulong)l).Varint(20, 2); break;
                case int i: a.Varint(3, (ulong)(long)i).Varint(20, 2); break;
                case float f: a.Fixed32(2, f).Varint(20, 1); break;
                case string s: a.Str(4, s).Varint(20, 3); break;
                case long[] ls: a.Packed(8, ls).Varint(20, 7); break;
                case float[] fs: a.Bytes(7, fs.SelectMany(BitConverter.GetBytes).ToArray()).Varint(20, 6); break;
                default: throw new ArgumentException(av.GetType().Name);
            }
            n.Bytes(5, a.ToArray());
        }
        _nodes.Add(n.ToArray());
        return this;
    }

    public byte[] Build()
    {
        var g = new Msg();
        foreach (var n in _nodes) g.Bytes(1, n);
        g.Str(2, "test");
        foreach (var i in _inits) g.Bytes(5, i);
        foreach (var i in _inputs) g.Bytes(11, i);
        foreach (var o in _outputs) g.Bytes(12, o);
        var opset = new Msg().Str(1, "").Varint(2, (ulong)Opset);
        var model = new Msg().Varint(1, 7).Str(2, "modelvis-test").Bytes(7, g.ToArray()).Bytes(8, opset.ToArray());
        foreach (var (k, v) in Metadata) model.Bytes(14, new Msg().Str(1, k).Str(2, v).ToArray());
        return model.ToArray();
    }

    static byte[] ValueInfo(string name, long[] dims)
    {
        var shape = new Msg();
        foreach (var d in dims) shape.Bytes(1, new Msg().Varint(1, (ulong)d).ToArray());
        var tensorType = new Msg().Varint(1, 1).Bytes(2, shape.ToArray());
        var type = new Msg().Bytes(1, tensorType.ToArray());
        return new Msg().Str(1, name).Bytes(2, type.ToArray()).ToArray();
    }

    sealed class Msg
    {
        readonly MemoryStream _s = new();
        public byte[] ToArray() => _s.ToArray();
        void Raw(ulong v) { do { byte b = (byte)(v & 0x7F); v >>= 7; if (v != 0) b |= 0x80; _s.WriteByte(b); } while (v != 0); }
        void Key(int field, int wt) => Raw((ulong)(field << 3 | wt));
        public Msg Varint(int field, ulong v) { Key(field, 0); Raw(v); return this; }
        public Msg Fixed32(int field, float v) { Key(field, 5); _s.Write(BitConverter.GetBytes(v)); return this; }
        public Msg Bytes(int field, byte[] b) { Key(field, 2); Raw((ulong)b.Length); _s.Write(b); return this; }
        public Msg Str(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
        public Msg Packed(int field, long[] values)
        {
            var inner = new Msg();
            foreach (var v in values) inner.Raw((ulong)v);
            return Bytes(field, inner.ToArray());
        }
    }
}
