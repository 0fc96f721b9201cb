using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ModelVis.Checkpoints.Tests;

/// <summary>Writes pickle opcodes by hand, the way torch.save's pickler emits them (protocol 2).</summary>
public sealed class PickleWriter
{
    readonly MemoryStream _s = new();
    public PickleWriter Op(byte op) { _s.WriteByte(op); return this; }
    public PickleWriter Raw(params byte[] b) { _s.Write(b); return this; }
    public PickleWriter Proto(int p = 2) => Op(0x80).Op((byte)p);
    public PickleWriter Global(string module, string name) => Op((byte)'c').Raw(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
    public PickleWriter StackGlobal(string module, string name) => Str(module).Str(name).Op(0x93);
    public PickleWriter Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, b.Length);
        return Raw(n.ToArray()).Raw(b);
    }
    public PickleWriter Int(long v)
    {
        if (v >= 0 && v < 256) return Op((byte)'K').Op((byte)v);
        if (v >= int.MinValue && v <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op((byte)'J').Raw(b);
        }
        var l = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Op(0x8a).Op(8).Raw(l);
    }
    public PickleWriter Mark() => Op((byte)'(');
    public PickleWriter Tuple() => Op((byte)'t');
    public PickleWriter EmptyTuple() => Op((byte)')');
    public PickleWriter EmptyDict() => Op((byte)'}');
    public PickleWriter SetItems() => Op((byte)'u');
    public PickleWriter SetItem() => Op((byte)'s');
    public PickleWriter Reduce() => Op((byte)'R');
    public PickleWriter BinPersId() => Op((byte)'Q');
    public PickleWriter False() => Op(0x89);
    public PickleWriter Stop() => Op((byte)'.');
    public PickleWriter Ints(params long[] v) { Mark(); foreach (var x in v) Int(x); return Tuple(); }

    /// <summary><c>_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleWriter Tensor(string storageType, string key, long numel, long offset, long[] shape, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(numel).Tuple().BinPersId();
        Int(offset).Ints(shape).Ints(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        Tuple();
        return Reduce();
    }

    public byte[] ToArray() => _s.ToArray();
}

public sealed record TorchTensorSpec(string Name, string StorageType, string Key, long Numel, long Offset, long[] Shape, long[] Stride);

/// <summary>Builds PyTorch zip checkpoints by hand: <c>prefix/data.pkl</c>, <c>prefix/data/KEY</c>, <c>prefix/version</c>.</summary>
public static class TorchZipBuilder
{
    /// <summary>An OrderedDict state dict of the given tensors, as torch.save pickles it.</summary>
    public static byte[] StateDictPickle(IEnumerable<TorchTensorSpec> tensors)
    {
        var w = new PickleWriter().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (var t in tensors) w.Str(t.Name).Tensor(t.StorageType, t.Key, t.Numel, t.Offset, t.Shape, t.Stride);
        return w.SetItems().Stop().ToArray();
    }

    public static void Write(string path, byte[] pickle, IDictionary<string, byte[]> storages, string prefix = "archive",
        CompressionLevel level = CompressionLevel.NoCompression, bool withByteOrder = true)
    {
        using var fs = new FileStream(path, FileMode.Create);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var e = zip.CreateEntry(prefix + "/" + name, level);
            using var s = e.Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        if (withByteOrder) Add("byteorder", Encoding.ASCII.GetBytes("little"));
        foreach (var (k, v) in storages) Add("data/" + k, v);
        Add("version", Encoding.ASCII.GetBytes("3\n"));
    }

    public static byte[] Floats(params float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
}
