using System.IO.Compression;
using System.Text;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Checkpoints.Tests;

/// <summary>
/// Each reader fuzzed (<see cref="BoundedFuzzer"/>; a few seconds' worth of inputs in the normal test run): mutated safetensors
/// headers, PyTorch zips and pickles, GGUF headers and ONNX protobufs all end in a result or a
/// <see cref="CheckpointException"/> (<see cref="OnnxFormatException"/> from the ONNX parser itself), within time and
/// allocation bounds. The number of inputs is printed. MODELVIS_FUZZ_SECONDS runs each longer.
/// </summary>
public class BoundedFuzzTests(ITestOutputHelper output)
{
    void Report(BoundedFuzzer.Outcome outcome) => output.WriteLine(outcome.ToString());

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

    static BoundedFuzzer.Outcome FuzzFiles(string name, string extension, IReadOnlyList<byte[]> seeds, int seed, int inputs)
    {
        using var dir = new Fixtures.TempDir();
        int i = 0;
        return BoundedFuzzer.Run(name, seed, inputs, seeds, bytes =>
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
        Report(FuzzFiles("safetensors", ".safetensors", seeds, 11, 15_000));
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
        Report(FuzzFiles("pytorch zip", ".pt", seeds, 12, 13_000));

        // The pickle alone, mutated inside an intact archive: opcodes, memo indices, lengths.
        var path = dir.File("p.pt");
        Report(BoundedFuzzer.Run("pickle", 13, 14_000, [pickle], p =>
        {
            TorchZipBuilder.Write(path, p, storages);
            OpenAndRead(path);
        }, typeof(CheckpointException)));
    }

    [Fact]
    public void GgufHeaders()
    {
        var sample = typeof(GgufTests).GetMethod("Sample", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var seeds = new[] { ((GgufBuilder)sample.Invoke(null, [3u])!).Build(), ((GgufBuilder)sample.Invoke(null, [2u])!).Build() };
        Report(FuzzFiles("gguf", ".gguf", seeds, 14, 15_000));
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
        Report(BoundedFuzzer.Run("onnx parse", 15, 150_000, [model], bytes =>
        {
            var m = OnnxModel.Parse(bytes);
            foreach (var t in m.Graph.Initializers)
                if (t.DataType is OnnxDataType.Float or OnnxDataType.Int64 && !t.IsExternal) t.ToBytes(m.FileBytes);
        }, typeof(OnnxFormatException)));
        Report(FuzzFiles("onnx checkpoint", ".onnx", [model], 16, 12_000));
    }
}
