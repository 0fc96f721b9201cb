using System.Text;
using System.Text.Json;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public class SafetensorsFixtureTests
{
    /// <summary>Checksums of every fixture tensor, computed independently (Data/make_fixture_manifest.py).</summary>
    static readonly JsonElement Manifest =
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "fixture_manifest.json"))).RootElement;

    public static TheoryData<string> FixtureFiles()
    {
        var data = new TheoryData<string>();
        foreach (var p in Manifest.EnumerateObject()) data.Add(p.Name);
        return data;
    }

    [Fact]
    public void ManifestCoversEveryFixtureSafetensorsFile()
    {
        var onDisk = Directory.GetFiles(Fixtures.Path_("models"), "*.safetensors", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Fixtures.Path_("models"), f).Replace('\\', '/')).Order();
        Assert.Equal(onDisk, Manifest.EnumerateObject().Select(p => p.Name).Order());
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void FixtureNamesDTypesShapesAndValues(string relative)
    {
        using var st = new SafetensorsFile(Fixtures.Path_("models", relative));
        var expected = Manifest.GetProperty(relative).EnumerateArray().ToList();
        Assert.Equal(expected.Select(e => e.GetProperty("name").GetString()).Order(), st.Tensors.Select(t => t.Name).Order());
        Assert.Equal("pt", st.Metadata["format"]);
        foreach (var e in expected)
        {
            var t = st.Get(e.GetProperty("name").GetString()!);
            Assert.Equal(e.GetProperty("dtype").GetString(), t.DType.Name());
            Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.Shape);
            Assert.Equal(t.ElementCount * t.DType.Size(), t.ByteLength);
            Assert.Equal(st.Path, t.File);
            var v = st.ReadFloats(t);
            double sum = 0, abs = 0;
            foreach (var x in v) { sum += x; abs += Math.Abs(x); }
            double tol = 1e-9 * Math.Max(1, e.GetProperty("abs_sum").GetDouble());
            Assert.Equal(e.GetProperty("sum").GetDouble(), sum, tol);
            Assert.Equal(e.GetProperty("abs_sum").GetDouble(), abs, tol);
            var first = e.GetProperty("first").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
            Assert.Equal(first, v.Take(first.Length));
            Assert.Equal((float)e.GetProperty("last").GetDouble(), v[^1]);
        }
    }

    [Fact]
    public void ModelFoldersOpenThroughTheLoader()
    {
        using var gpt2 = CheckpointLoader.Open(Fixtures.Model("tiny-gpt2"));
        Assert.Equal(28, gpt2.Tensors.Count);
        Assert.Equal([64L, 192], gpt2.Get("transformer.h.0.attn.c_attn.weight").Shape); // Conv1D: [in, out]
        Assert.False(gpt2.TryGet("lm_head.weight", out _)); // tied to wte, not stored

        using var llama = CheckpointLoader.Open(Fixtures.Model("tiny-llama"));
        Assert.Equal([16L, 64], llama.Get("model.layers.0.self_attn.k_proj.weight").Shape); // 2 KV heads × 8
        Assert.Equal([1000L, 64], llama.Get("lm_head.weight").Shape);

        using var stories = CheckpointLoader.Open(Fixtures.Model("stories260K"));
        Assert.Equal([512L, 64], stories.Get("model.embed_tokens.weight").Shape);
    }

    static float Bf16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        return BitConverter.UInt32BitsToSingle((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000);
    }

    [Theory]
    [InlineData("tiny-gpt2-f16", DType.F16)]
    [InlineData("tiny-gpt2-bf16", DType.BF16)]
    public void HalfPrecisionFixturesAreTheF32WeightsRounded(string model, DType dtype)
    {
        using var f32 = CheckpointLoader.Open(Fixtures.Model("tiny-gpt2"));
        using var half = CheckpointLoader.Open(Fixtures.Model(model));
        Assert.Equal(f32.Tensors.Select(t => t.Name).Order(), half.Tensors.Select(t => t.Name).Order());
        foreach (var t in f32.Tensors)
        {
            var h = half.Get(t.Name);
            Assert.Equal(dtype, h.DType);
            Assert.Equal(t.Shape, h.Shape);
            var exact = f32.ReadFloats(t);
            var widened = half.ReadFloats(h);
            // Round-to-nearest-even of each F32 weight, widened back exactly.
            var rounded = exact.Select(x => dtype == DType.F16 ? (float)(Half)x : Bf16(x));
            Assert.Equal(rounded, widened);
            float rel = dtype == DType.F16 ? 1f / 2048 : 1f / 256;
            for (int i = 0; i < exact.Length; i++)
                Assert.True(Math.Abs(widened[i] - exact[i]) <= rel * Math.Abs(exact[i]) + 6e-8f, $"{t.Name}[{i}]");
        }
    }
}

public class SafetensorsShardedTests
{
    [Fact]
    public void ShardedFolderOpensAsOne()
    {
        using var dir = new Fixtures.TempDir();
        new SafetensorsWriter().Add("a.weight", [1f, 2, 3, 4], 2, 2).Add("a.bias", [5f, 6], 2).Save(dir.File("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().Add("b.weight", [7f, 8, 9], 3).Add("ids", [1L, -2], 2).Save(dir.File("model-00002-of-00002.safetensors"));
        File.WriteAllText(dir.File("model.safetensors.index.json"), """
            {"metadata": {"total_size": 52}, "weight_map": {
              "a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
              "b.weight": "model-00002-of-00002.safetensors", "ids": "model-00002-of-00002.safetensors"}}
            """);
        using var c = CheckpointLoader.Open(dir.Path);
        Assert.IsType<MultiFileCheckpoint>(c);
        Assert.Equal(["a.bias", "a.weight", "b.weight", "ids"], c.Tensors.Select(t => t.Name).Order());
        Assert.Equal([1f, 2, 3, 4], c.ReadFloats("a.weight"));
        Assert.Equal([7f, 8, 9], c.ReadFloats("b.weight"));
        Assert.Equal([1L, -2], c.ReadInt64s(c.Get("ids")));
        Assert.EndsWith("model-00002-of-00002.safetensors", c.Get("b.weight").File);
        var e = Assert.Throws<CheckpointException>(() => c.ReadFloats("ids"));
        Assert.Contains("`ids`", e.Message);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        using var dir = new Fixtures.TempDir();
        new SafetensorsWriter().Add("a", [1f], 1).Save(dir.File("model-00001-of-00002.safetensors"));
        File.WriteAllText(dir.File("model.safetensors.index.json"),
            """{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(dir.Path));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void IndexThatIsNotJsonIsNamed()
    {
        using var dir = new Fixtures.TempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{ not json");
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(dir.Path));
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains("JSON", e.Message);
    }

    [Theory]
    [InlineData("""{"weight_map": {"a": 3}}""", "`a` is not a file name")]
    [InlineData("""{"weight_map": {"a": "../elsewhere.safetensors"}}""", "outside the model folder")]
    [InlineData("""{"weight_map": {"a": "/etc/passwd"}}""", "outside the model folder")]
    [InlineData("""[1, 2]""", "not a JSON object")]
    [InlineData("""{"metadata": {}}""", "no \"weight_map\"")]
    [InlineData("""{"weight_map": {"a": "model-00001-of-00001.safetensors", "ghost": "model-00001-of-00001.safetensors"}}""", "`ghost` is listed")]
    public void BadIndexIsExplained(string index, string expected)
    {
        using var dir = new Fixtures.TempDir();
        new SafetensorsWriter().Add("a", [1f], 1).Save(dir.File("model-00001-of-00001.safetensors"));
        File.WriteAllText(dir.File("model.safetensors.index.json"), index);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(dir.Path));
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void SameTensorInTwoShardsIsNamed()
    {
        using var dir = new Fixtures.TempDir();
        new SafetensorsWriter().Add("a", [1f], 1).Save(dir.File("x.safetensors"));
        new SafetensorsWriter().Add("a", [2f], 1).Save(dir.File("y.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(dir.Path));
        Assert.Contains("`a`", e.Message);
        Assert.Contains("x.safetensors", e.Message);
        Assert.Contains("y.safetensors", e.Message);
    }

    [Fact]
    public void WriterRoundTripsEveryDTypeAndMetadata()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("all.safetensors");
        var w = new SafetensorsWriter().AddMetadata("format", "pt");
        var plain = Enum.GetValues<DType>().Where(d => !d.IsQuantized()).ToArray();
        Assert.Throws<ArgumentException>(() => w.AddRaw("q", DType.Q8_0, [32], new byte[34]));
        foreach (DType d in plain)
            w.AddRaw("t_" + d.Name(), d, [2], Enumerable.Range(1, 2 * d.Size()).Select(i => (byte)i).ToArray());
        w.Save(path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0, (8 + (long)BitConverter.ToUInt64(bytes)) % 8); // header padded to 8 bytes
        using var st = new SafetensorsFile(path);
        Assert.Equal("pt", st.Metadata["format"]);
        foreach (DType d in plain)
        {
            var t = st.Get("t_" + d.Name());
            Assert.Equal(d, t.DType);
            Assert.Equal(Enumerable.Range(1, 2 * d.Size()).Select(i => (byte)i), st.Bytes(t).ToArray());
        }
    }
}

public class SafetensorsCorruptTests
{
    /// <summary>A safetensors file from a header given as JSON text and a data section of <paramref name="dataBytes"/> bytes.</summary>
    static string Make(Fixtures.TempDir dir, string name, string headerJson, int dataBytes, long? declaredHeaderLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var path = dir.File(name);
        using var fs = new FileStream(path, FileMode.Create);
        fs.Write(BitConverter.GetBytes((ulong)(declaredHeaderLength ?? header.Length)));
        fs.Write(header);
        fs.Write(new byte[dataBytes]);
        return path;
    }

    static CheckpointException Fails(string path) => Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));

    [Fact]
    public void TooShortForTheLengthPrefix()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = Fails(path);
        Assert.Contains("tiny.safetensors", e.Message);
        Assert.Contains("too short", e.Message);
    }

    [Fact]
    public void HeaderLengthPastEndOfFile()
    {
        using var dir = new Fixtures.TempDir();
        var path = Make(dir, "long.safetensors", "{}", 0, declaredHeaderLength: 5000);
        var e = Fails(path);
        Assert.Contains("long.safetensors", e.Message);
        Assert.Contains("runs past the end", e.Message);
        var huge = Make(dir, "huge.safetensors", "{}", 0, declaredHeaderLength: 1L << 40);
        Assert.Contains("limit", Fails(huge).Message);
    }

    [Theory]
    [InlineData("{\"a\": {\"dtype\": \"F32\", ", "not valid JSON")]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("\"just a string\"", "not a JSON object")]
    public void HeaderNotJson(string header, string expected)
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "bad.safetensors", header, 0));
        Assert.Contains("bad.safetensors", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TruncatedData()
    {
        // A valid file cut short: the last tensor's bytes are gone.
        using var dir = new Fixtures.TempDir();
        var path = dir.File("cut.safetensors");
        new SafetensorsWriter().Add("first", [1f, 2], 2).Add("second", new float[100], 100).Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);
        var e = Fails(path);
        Assert.Contains("cut.safetensors", e.Message);
        Assert.Contains("`second`", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void OffsetsOutsideTheFile()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "out.safetensors", """{"w": {"dtype": "F32", "shape": [4], "data_offsets": [1000, 1016]}}""", 16));
        Assert.Contains("out.safetensors", e.Message);
        Assert.Contains("`w`", e.Message);
    }

    [Fact]
    public void NegativeOrReversedOffsets()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "neg.safetensors", """{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}""", 16));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("data_offsets", e.Message);
        e = Fails(Make(dir, "str.safetensors", """{"w": {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}}""", 16));
        Assert.Contains("`w`", e.Message);
        Assert.Contains("data_offsets", e.Message);
    }

    [Fact]
    public void OverlappingTensors()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "overlap.safetensors", """
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}
            """, 16));
        Assert.Contains("overlap.safetensors", e.Message);
        Assert.Contains("`a`", e.Message);
        Assert.Contains("`b`", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void UnknownDType()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "dtype.safetensors", """{"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}""", 16));
        Assert.Contains("dtype.safetensors", e.Message);
        Assert.Contains("`w`", e.Message);
        Assert.Contains("F128", e.Message);
    }

    [Fact]
    public void OffsetsNotMatchingTheShape()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "shape.safetensors", """{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}}""", 16));
        Assert.Contains("shape.safetensors", e.Message);
        Assert.Contains("`w`", e.Message);
        Assert.Contains("needs 24", e.Message);
    }

    [Theory]
    [InlineData("""{"w": {"shape": [1], "data_offsets": [0, 4]}}""", "dtype")]
    [InlineData("""{"w": {"dtype": "F32", "data_offsets": [0, 4]}}""", "shape")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", "non-negative")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}""", "non-negative")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 4]}}""", "too large")]
    [InlineData("""{"w": 3}""", "not an object")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", "twice")]
    public void MalformedEntries(string header, string expected)
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(Make(dir, "entry.safetensors", header, 16));
        Assert.Contains("entry.safetensors", e.Message);
        Assert.Contains("`w`", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnsupportedExtensionIsNamed()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("weights.xyz");
        File.WriteAllText(path, "x");
        var e = Fails(path);
        Assert.Contains("weights.xyz", e.Message);
        Assert.Contains("unsupported", e.Message);
    }

    [Fact]
    public void EmptyFolderSaysWhatItLookedFor()
    {
        using var dir = new Fixtures.TempDir();
        var e = Fails(dir.Path);
        Assert.Contains("no weights found", e.Message);
    }
}

[CollectionDefinition("io-accounting", DisableParallelization = true)]
public class IoAccountingCollection;

/// <summary>Opening must read only the header, whatever the file's size. Not run in parallel, so the process's read count is its own.</summary>
[Collection("io-accounting")]
public class SafetensorsLazyTests
{
    /// <summary>Bytes this process has read through read(2) and friends (Linux), or null elsewhere.</summary>
    static long? BytesRead()
    {
        if (!File.Exists("/proc/self/io")) return null;
        foreach (var line in File.ReadAllLines("/proc/self/io"))
            if (line.StartsWith("rchar:")) return long.Parse(line[6..].Trim());
        return null;
    }

    [Fact]
    public void OpeningAMultiGigabyteFileReadsOnlyTheHeader()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("big.safetensors");
        const long n = 3L << 29; // 1.5 G F32 elements: 6 GB of data, a sparse hole on disk
        var header = Encoding.UTF8.GetBytes($$$"""{"__metadata__": {"format": "pt"}, "small": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "huge": {"dtype": "F32", "shape": [{{{n}}}], "data_offsets": [8, {{{8 + n * 4}}}]}}""");
        using (var fs = new FileStream(path, FileMode.Create))
        {
            fs.Write(BitConverter.GetBytes((ulong)header.Length));
            fs.Write(header);
            fs.Write(BitConverter.GetBytes(1.5f));
            fs.Write(BitConverter.GetBytes(-2f));
            fs.SetLength(8 + header.Length + 8 + n * 4);
        }
        long? before = BytesRead();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var st = CheckpointLoader.Open(path);
        sw.Stop();
        long? after = BytesRead();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"opening took {sw.Elapsed}"); // the bytes read below are the proof; this catches a hang
        if (before != null) Assert.True(after - before < 64 * 1024, $"opening read {after - before} bytes");
        var huge = st.Get("huge");
        Assert.Equal(n * 4, huge.ByteLength);
        Assert.Equal([1.5f, -2f], st.ReadFloats("small"));
        var tail = new float[3];
        st.ReadFloats(huge, n - 3, tail);
        Assert.Equal(new float[3], tail);
    }

    [Fact]
    public void OpeningAPyTorchCheckpointReadsOnlyItsPickle()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("lazy.pt");
        const long numel = 1L << 28; // 1 GB storage, sparse
        var pickle = TorchZipBuilder.StateDictPickle([new("big", "FloatStorage", "0", numel, 0, [numel], [1])]);
        SparseZip.Write(path, [("archive/data.pkl", pickle, 0), ("archive/data/0", null, numel * 4)]);
        long? before = BytesRead();
        using var c = CheckpointLoader.Open(path);
        long? after = BytesRead();
        if (before != null) Assert.True(after - before < 256 * 1024, $"opening read {after - before} bytes");
        var big = c.Get("big");
        Assert.Equal(numel * 4, big.ByteLength);
        var tail = new float[4];
        c.ReadFloats(big, numel - 4, tail);
        Assert.Equal(new float[4], tail);
    }

    [Fact]
    public void Zip64CheckpointOverFourGigabytes()
    {
        // A 5 GB storage (sparse) followed by a small one whose offset needs ZIP64, as in large pytorch_model.bin shards.
        using var dir = new Fixtures.TempDir();
        var path = dir.File("large.bin");
        const long numel = 5L << 28;
        var pickle = TorchZipBuilder.StateDictPickle([
            new("huge", "FloatStorage", "0", numel, 0, [numel], [1]),
            new("small", "FloatStorage", "1", 3, 0, [3], [1]),
        ]);
        SparseZip.Write(path, [("archive/data.pkl", pickle, 0), ("archive/data/0", null, numel * 4), ("archive/data/1", TorchZipBuilder.Floats(1, -2, 3), 0)], zip64: true);
        long? before = BytesRead();
        using var c = CheckpointLoader.Open(path);
        long? after = BytesRead();
        if (before != null) Assert.True(after - before < 256 * 1024, $"opening read {after - before} bytes");
        Assert.Equal(numel * 4, c.Get("huge").ByteLength);
        Assert.True(c.Get("small").Offset > 5L << 30);
        Assert.Equal([1f, -2, 3], c.ReadFloats("small"));
    }
}
