using System.Text;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    // ---- ONNX -------------------------------------------------------------------------------------------------------

    static void Varint(MemoryStream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    static byte[] Field(int field, byte[] payload)
    {
        var s = new MemoryStream();
        Varint(s, (ulong)(field << 3 | 2));
        Varint(s, (ulong)payload.Length);
        s.Write(payload);
        return s.ToArray();
    }

    static byte[] Initializer(string name, params ulong[] dims)
    {
        var t = new MemoryStream();
        foreach (var d in dims) { Varint(t, 1 << 3); Varint(t, d); }
        Varint(t, 2 << 3); Varint(t, 1); // FLOAT
        t.Write(Field(8, Encoding.UTF8.GetBytes(name)));
        return Field(7, Field(5, t.ToArray())); // ModelProto.graph { initializer }
    }

    [Theory]
    [InlineData(1UL << 31, 1UL << 40)]   // 2^71 elements: the product overflows
    [InlineData(1UL << 40)]              // 2^42 bytes: fits a long, never allocated
    [InlineData(ulong.MaxValue)]         // -1 as an int64 dim
    public void OnnxDimsFromTheFileAreCheckedBeforeAllocating(params ulong[] dims)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("dims.onnx");
        File.WriteAllBytes(path, Initializer("w", dims));
        // Before the check, [2^40] allocated 4 TB (OutOfMemoryException, not a CheckpointException).
        Assert.Contains("`w`", Refused(path).Message);
    }
}
