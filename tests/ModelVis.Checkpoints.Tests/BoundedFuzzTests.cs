using System.IO.Compression;
using System.Text;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Checkpoints.Tests;

/// <summary>
/// Each reader fuzzed for a few seconds in the normal test run (<see cref="BoundedFuzzer"/>): mutated safetensors
/// headers, PyTorch zips and pickles, GGUF headers and ONNX protobufs all end in a result or a
/// <see cref="CheckpointException"/> (<see cref="OnnxFormatException"/> from the ONNX parser itself), within time and
/// allocation bounds. The number of inputs is printed. MODELVIS_FUZZ_SECONDS runs each longer.
/// </summary>
public class BoundedFuzzTests(ITestOutputHelper output)
{
    void Report(string name, int count) => output.WriteLine(BoundedFuzzer.Report(name, count));

    static void OpenAndRead(string path)
    {
        using var c = CheckpointLoader.Open(path);
        foreach (var t in c.Tensors)
        {
            if (t.ByteLength > 1 << 20) { c.ReadBytes(t, 0, new byte[Math.Min(16, t.ByteLength)]); continue; }
            var buffer = new byte[t.ByteLength];
            c.ReadBytes(t, 0, buffer);
            if (t.DType.IsReadableAsFloat()) c.ReadFloats(t);
        }
    }

    int FuzzFiles(string name, string extension, IReadOnlyList<byte[]> seeds, int seed)
    {
        using var dir = new Fixtures.TempDir();
        int i = 0;
        return BoundedFuzzer.Run(name, BoundedFuzzer.Budget, seed, seeds, bytes =>
        {
            var path = dir.File($"{i++ % 16}{extension}");
            File.WriteAllBytes(path, bytes);
            OpenAndRead(path);
        }, typeof(CheckpointException));
    }

    [Fact]
    public void SafetensorsHeaders()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("seed.safetensors");
        new SafetensorsWriter().Add("a", [1f, 2, 3, 4, 5, 6], 2, 3).Add("b", [7L, 8], 2).AddMetadata("format", "pt").Save(path);
        var lenet = File.ReadAllBytes(Fixtures.Path_("models", "lenet5-mnist", "lenet.safetensors"));
        int header = 8 + (int)BitConverter.ToUInt64(lenet);
        var seeds = new[] { File.ReadAllBytes(path), lenet[..Math.Min(lenet.Length, header + 4096)] };
        Report("safetensors", FuzzFiles("safetensors", ".safetensors", seeds, 11));
    }

    [Fact]
    public void PyTorchZipsAndPickles()
    {
        using var dir = new Fixtures.TempDir();
        var pickle = TorchZipBuilder.StateDictPickle([
            new("a", "FloatStorage", "0", 6, 0, [2, 3], [3, 1]),
            new("b", "HalfStorage", "1", 2, 0, [2], [1]),
            new("c", "FloatStorage", "0", 6, 1, [2, 2], [1, 2]),
        ]);
        var storages = new Dictionary<string, byte[]> { ["0"] = TorchZipBuilder.Floats(1, 2, 3, 4, 5, 6), ["1"] = [0, 0x3c, 0, 0xc0] };
        var stored = dir.File("stored.pt");
        TorchZipBuilder.Write(stored, pickle, storages);
        var deflated = dir.File("deflated.pt");
        TorchZipBuilder.Write(deflated, pickle, storages, level: CompressionLevel.Optimal);
        var seeds = new[] { File.ReadAllBytes(stored), File.ReadAllBytes(deflated), File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "dtypes.pt")) };
        Report("pytorch zip", FuzzFiles("pytorch zip", ".pt", seeds, 12));

        // The pickle alone, mutated inside an intact archive: opcodes, memo indices, lengths.
        int n = 0;
        var path = dir.File("p.pt");
        n = BoundedFuzzer.Run("pickle", 13, [pickle], p =>
        {
            TorchZipBuilder.Write(path, p, storages);
            OpenAndRead(path);
        }, typeof(CheckpointException));
        Report("pickle", n);
    }

    [Fact]
    public void GgufHeaders()
    {
        var sample = typeof(GgufTests).GetMethod("Sample", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var seeds = new[] { ((GgufBuilder)sample.Invoke(null, [3u])!).Build(), ((GgufBuilder)sample.Invoke(null, [2u])!).Build() };
        Report("gguf", FuzzFiles("gguf", ".gguf", seeds, 14));
    }

    static byte[] Proto(params (int Field, object Value)[] fields)
    {
        var s = new MemoryStream();
        void Varint(ulong v) { while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; } s.WriteByte((byte)v); }
        foreach (var (f, v) in fields)
            switch (v)
            {
                case long l: Varint((ulong)(f << 3)); Varint((ulong)l); break;
                case string str: var b = Encoding.UTF8.GetBytes(str); Varint((ulong)(f << 3 | 2)); Varint((ulong)b.Length); s.Write(b); break;
                case byte[] bytes: Varint((ulong)(f << 3 | 2)); Varint((ulong)bytes.Length); s.Write(bytes); break;
            }
        return s.ToArray();
    }

    [Fact]
    public void OnnxProtobufs()
    {
        var raw = TorchZipBuilder.Floats(1, 2, 3, 4, 5, 6);
        var weight = Proto((1, 2L), (1, 3L), (2, 1L), (8, "w"), (9, raw));
        var typed = Proto((1, 2L), (2, 7L), (8, "shape"), (7, new byte[] { 1, 2 }));
        var attr = Proto((1, "value"), (20, 4L), (5, Proto((2, 1L), (8, "c"), (4, TorchZipBuilder.Floats(0.5f)))));
        var node = Proto((1, "x"), (1, "w"), (2, "y"), (4, "MatMul"));
        var constant = Proto((2, "k"), (4, "Constant"), (5, attr));
        var input = Proto((1, "x"), (2, Proto((1, Proto((1, 1L), (2, Proto((1, Proto((1, 1L))), (1, Proto((1, 2L))))))))));
        var graph = Proto((1, node), (1, constant), (2, "g"), (5, weight), (5, typed), (11, input));
        var model = Proto((1, 8L), (2, "fuzz"), (7, graph), (8, Proto((1, ""), (2, 17L))));
        Assert.Equal(2, OnnxModel.Parse(model).Graph.Initializers.Count);
        int parsed = BoundedFuzzer.Run("onnx parse", 15, [model], bytes =>
        {
            var m = OnnxModel.Parse(bytes);
            foreach (var t in m.Graph.Initializers)
                if (t.DataType is OnnxDataType.Float or OnnxDataType.Int64 && !t.IsExternal) t.ToBytes(m.FileBytes);
        }, typeof(OnnxFormatException));
        Report("onnx parse", parsed);
        Report("onnx checkpoint", FuzzFiles("onnx checkpoint", ".onnx", [model], 16));
    }
}
