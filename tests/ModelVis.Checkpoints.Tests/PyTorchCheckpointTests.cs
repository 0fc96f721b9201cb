using System.IO.Compression;
using System.Text;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public class PyTorchCheckpointTests
{
    static string Data(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Data", .. parts]);

    static float Bf16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    static byte[] Raw(ICheckpoint c, TensorInfo t)
    {
        var b = new byte[t.ByteLength];
        c.ReadBytes(t, 0, b);
        return b;
    }

    // ---- real files ---------------------------------------------------------------------------------------

    [Fact]
    public void LeNetPthEqualsItsSafetensorsExactly()
    {
        using var pth = CheckpointLoader.Open(Fixtures.Path_("models", "lenet5-mnist", "lenet.pth"));
        using var st = CheckpointLoader.Open(Fixtures.Path_("models", "lenet5-mnist", "lenet.safetensors"));
        Assert.IsType<PyTorchCheckpoint>(pth);
        Assert.Equal(
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"],
            pth.Tensors.Select(t => t.Name));
        Assert.Equal(st.Tensors.Select(t => t.Name).Order(), pth.Tensors.Select(t => t.Name).Order());
        foreach (var t in pth.Tensors)
        {
            var s = st.Get(t.Name);
            Assert.Equal(s.DType, t.DType);
            Assert.Equal(s.Shape, t.Shape);
            Assert.True(t.Layout!.IsContiguous);
            Assert.Equal(Raw(st, s), Raw(pth, t));
        }
        Assert.Equal([6L, 1, 5, 5], pth.Get("conv1.weight").Shape);
        Assert.Equal([25L, 25, 5, 1], pth.Get("conv1.weight").Layout!.Strides);
    }

    [Fact]
    public void LightningCheckpointGivesTheStateDictAndIgnoresTheRest()
    {
        var path = Directory.GetFiles(Fixtures.Path_("runs", "lightning-mnist-mlp"), "*.ckpt").Single();
        using var ckpt = (PyTorchCheckpoint)CheckpointLoader.Open(path);
        Assert.Equal("state_dict", ckpt.WeightsKey);
        Assert.Equal(["backbone.l1.weight", "backbone.l1.bias", "backbone.l2.weight", "backbone.l2.bias"], ckpt.Tensors.Select(t => t.Name));
        Assert.Equal([128L, 784], ckpt.Get("backbone.l1.weight").Shape);
        Assert.Equal([10L, 128], ckpt.Get("backbone.l2.weight").Shape);
        Assert.All(ckpt.Tensors, t => Assert.Equal(DType.F32, t.DType));
        // The callback and the pickled module in hyper_parameters are listed, never constructed.
        Assert.Contains("pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint", ckpt.IgnoredObjects);
        Assert.Contains("__main__.Backbone", ckpt.IgnoredObjects);

        // Checksums from Python's own pickle with torch storages (classes outside torch stubbed out).
        (string Name, double Sum, double AbsSum, float First)[] expected =
        [
            ("backbone.l1.weight", -9.392527706750428, 5842.085954496901, 0.010998121462762356f),
            ("backbone.l1.bias", 2.1389180217520334, 10.300726067798678, -0.06596257537603378f),
            ("backbone.l2.weight", -28.19391059243935, 134.37252446301864, -0.02513161487877369f),
            ("backbone.l2.bias", 0.394794091116637, 0.6793894073925912, 0.002525514457374811f),
        ];
        foreach (var (name, sum, absSum, first) in expected)
        {
            var v = ckpt.ReadFloats(name);
            Assert.Equal(sum, v.Sum(x => (double)x), 1e-9 * absSum);
            Assert.Equal(absSum, v.Sum(x => Math.Abs((double)x)), 1e-9 * absSum);
            Assert.Equal(first, v[0]);
        }

        var w = ckpt.ReadFloats("backbone.l1.weight");
        Assert.All(w, v => Assert.True(float.IsFinite(v)));
        double mean = w.Average(v => (double)v), std = Math.Sqrt(w.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(std, 0.06, 0.10); // PROVENANCE: trained weights, std 0.078
    }

    [Theory]
    [InlineData("dtypes.pt")]
    [InlineData("dtypes_protocol4.pt")]
    public void EveryDTypeAndViewReadsAsTorchWroteIt(string file)
    {
        using var c = CheckpointLoader.Open(Data(file));
        var f32 = c.Get("f32");
        Assert.Equal(DType.F32, f32.DType);
        Assert.Equal([3L, 4], f32.Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i / 8f - 0.5f), c.ReadFloats(f32));

        Assert.Equal(DType.F16, c.Get("f16").DType);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (float)(Half)(i * 0.1f - 0.25f)), c.ReadFloats("f16"));
        Assert.Equal(DType.BF16, c.Get("bf16").DType);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => Bf16(i * 0.1f - 0.25f)), c.ReadFloats("bf16"));
        Assert.Equal(DType.F64, c.Get("f64").DType);
        Assert.Equal([1.5f, -2.25f, 1e-3f], c.ReadFloats("f64"));
        Assert.Equal(DType.I64, c.Get("i64").DType);
        Assert.Equal([0L, -1, 1L << 40, -(1L << 40)], c.ReadInt64s(c.Get("i64")));
        Assert.Equal(DType.I32, c.Get("i32").DType);
        Assert.Equal([1L, -2, 3, -4], c.ReadInt64s(c.Get("i32")));
        Assert.Equal(DType.U8, c.Get("u8").DType);
        Assert.Equal([0, 7, 255], Raw(c, c.Get("u8")));
        Assert.Equal(DType.Bool, c.Get("bool").DType);
        Assert.Equal([1, 0, 1], Raw(c, c.Get("bool")));
        Assert.Empty(c.Get("scalar").Shape);
        Assert.Equal([3.25f], c.ReadFloats("scalar"));
        Assert.Equal([0L, 5], c.Get("empty").Shape);
        Assert.Empty(c.ReadFloats("empty"));
        Assert.Equal([[0.5f, -0.5f]], [c.ReadFloats("param")]);

        // Views into one storage of 0..19.
        var whole = c.Get("view.whole");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (float)i), c.ReadFloats(whole));
        Assert.True(whole.Layout!.IsContiguous);
        Assert.Equal(["view.every_other", "view.slice", "view.transposed"], whole.Layout.SharesStorageWith.Order());

        var tr = c.Get("view.transposed");
        Assert.Equal([4L, 3], tr.Shape);
        Assert.Equal([1L, 4], tr.Layout!.Strides);
        Assert.False(tr.Layout.IsContiguous);
        var expectedT = new List<float>();
        for (int r = 0; r < 4; r++) for (int col = 0; col < 3; col++) expectedT.Add(col * 4 + r);
        Assert.Equal(expectedT, c.ReadFloats(tr));
        // A partial read in the middle of a strided view.
        var part = new float[5];
        c.ReadFloats(tr, 2, part);
        Assert.Equal(expectedT.Skip(2).Take(5), part);
        // Byte ranges that do not start on an element boundary.
        var bytes = new byte[6];
        c.ReadBytes(tr, 5, bytes);
        Assert.Equal(Raw(c, tr).AsSpan(5, 6).ToArray(), bytes);

        var slice = c.Get("view.slice");
        Assert.Equal(5, slice.Layout!.StorageOffset);
        Assert.True(slice.Layout.IsContiguous);
        Assert.Equal([5f, 6, 7, 8], c.ReadFloats(slice));
        var odd = c.Get("view.every_other");
        Assert.False(odd.Layout!.IsContiguous);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2f * i + 1), c.ReadFloats(odd));

        // The same tensor saved under two names shares one storage.
        Assert.Contains("tied.a", f32.Layout!.SharesStorageWith);
        Assert.Equal(c.ReadFloats(f32), c.ReadFloats("tied.a"));
    }

    [Fact]
    public void StridedViewsTooLargeToBufferAreReadInRuns()
    {
        using var c = (PyTorchCheckpoint)CheckpointLoader.Open(Data("dtypes.pt"));
        c.WindowLimitBytes = 0; // as if every view spanned gigabytes
        var expectedT = new List<float>();
        for (int r = 0; r < 4; r++) for (int col = 0; col < 3; col++) expectedT.Add(col * 4 + r);
        Assert.Equal(expectedT, c.ReadFloats("view.transposed"));
        var part = new float[7];
        c.ReadFloats(c.Get("view.transposed"), 3, part);
        Assert.Equal(expectedT.Skip(3).Take(7), part);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2f * i + 1), c.ReadFloats("view.every_other"));
        Assert.Equal([5f, 6, 7, 8], c.ReadFloats("view.slice"));
    }

    [Fact]
    public void ColumnSliceOfAMatrixReadsRowRuns()
    {
        // x = arange(24).reshape(4, 6)[:, 1:4]: shape [4, 3], stride [6, 1], offset 1: runs of 3 per row.
        using var dir = new Fixtures.TempDir();
        var path = dir.File("cols.pt");
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle([new("x", "FloatStorage", "0", 24, 1, [4, 3], [6, 1])]),
            new Dictionary<string, byte[]> { ["0"] = TorchZipBuilder.Floats(Enumerable.Range(0, 24).Select(i => (float)i).ToArray()) });
        float[] expected = [1, 2, 3, 7, 8, 9, 13, 14, 15, 19, 20, 21];
        using var c = (PyTorchCheckpoint)CheckpointLoader.Open(path);
        Assert.False(c.Get("x").Layout!.IsContiguous);
        Assert.Equal(expected, c.ReadFloats("x"));
        c.WindowLimitBytes = 0;
        Assert.Equal(expected, c.ReadFloats("x"));
    }

    [Fact]
    public void FolderWithPytorchModelBinOpens()
    {
        using var dir = new Fixtures.TempDir();
        File.Copy(Data("training.pt"), dir.File("pytorch_model.bin"));
        using (var c = CheckpointLoader.Open(dir.Path))
            Assert.IsType<PyTorchCheckpoint>(c);
        // Beside model.safetensors (as many hub repositories ship both), safetensors wins.
        new SafetensorsWriter().Add("w", [1f], 1).Save(dir.File("model.safetensors"));
        using (var c = CheckpointLoader.Open(dir.Path))
            Assert.IsType<SafetensorsFile>(c);
    }

    [Fact]
    public void NestedTrainingCheckpointGivesDottedNames()
    {
        using var c = (PyTorchCheckpoint)CheckpointLoader.Open(Data("training.pt"));
        Assert.Null(c.WeightsKey);
        Assert.Equal(["model.weight", "model.bias", "optimizer.state.0.momentum_buffer", "optimizer.state.1.momentum_buffer"], c.Tensors.Select(t => t.Name));
        // One SGD step (lr 0.1, gradient 1 everywhere) from weight [[1,2,3],[4,5,6]] and bias [0.5,-0.5].
        var w = c.ReadFloats("model.weight");
        float[] expected = [0.9f, 1.9f, 2.9f, 3.9f, 4.9f, 5.9f];
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], w[i], 1e-6f);
        Assert.Equal([0.4f, -0.6f], c.ReadFloats("model.bias").Select(v => MathF.Round(v, 5)));
        Assert.Equal([1f, 1, 1, 1, 1, 1], c.ReadFloats("optimizer.state.0.momentum_buffer"));
    }

    [Fact]
    public void ShardedPytorchModelBinOpensThroughItsIndex()
    {
        using var c = CheckpointLoader.Open(Data("sharded"));
        Assert.IsType<MultiFileCheckpoint>(c);
        Assert.Equal(["layer.0.bias", "layer.0.weight", "layer.1.weight"], c.Tensors.Select(t => t.Name).Order());
        Assert.Equal([0f, 1, 2, 3], c.ReadFloats("layer.0.weight"));
        Assert.Equal([1f, 2], c.ReadFloats("layer.0.bias"));
        Assert.Equal([-0f, -1, -2, -3], c.ReadFloats("layer.1.weight"));
        Assert.EndsWith("pytorch_model-00002-of-00002.bin", c.Get("layer.1.weight").File);
        // The index file itself opens the same way.
        using var viaIndex = CheckpointLoader.Open(Data("sharded", "pytorch_model.bin.index.json"));
        Assert.Equal(3, viaIndex.Tensors.Count);
    }

    [Fact]
    public void WholePickledModuleIsRefusedNotConstructed()
    {
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Data("whole_module.pt")));
        Assert.Contains("whole_module.pt", e.Message);
        Assert.Contains("torch.nn.modules.linear.Linear", e.Message);
        Assert.Contains("state_dict()", e.Message);
    }

    [Fact]
    public void LegacyFormatSaysHowToConvert()
    {
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(Data("legacy.pt")));
        Assert.Contains("legacy.pt", e.Message);
        Assert.Contains("legacy", e.Message);
        Assert.Contains("torch < 1.6", e.Message);
        Assert.Contains("torch.save(", e.Message);
    }

    // ---- hand-made files ---------------------------------------------------------------------------------

    static readonly TorchTensorSpec[] TwoTensors =
    [
        new("a", "FloatStorage", "0", 6, 0, [2, 3], [3, 1]),
        new("b", "HalfStorage", "1", 2, 0, [2], [1]),
    ];

    static Dictionary<string, byte[]> TwoStorages() => new()
    {
        ["0"] = TorchZipBuilder.Floats(1, 2, 3, 4, 5, 6),
        ["1"] = [0x00, 0x3c, 0x00, 0xc0], // F16 1.0, -2.0
    };

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void HandMadeCheckpointReadsStoredAndDeflated(CompressionLevel level)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("hand.pt");
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(TwoTensors), TwoStorages(), level: level);
        using var c = CheckpointLoader.Open(path);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c.ReadFloats("a"));
        Assert.Equal([1f, -2], c.ReadFloats("b"));
        Assert.Equal(DType.F16, c.Get("b").DType);
    }

    [Fact]
    public void BigEndianStoragesAreRefused()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("be.pt");
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(TwoTensors), new Dictionary<string, byte[]>(TwoStorages()) , withByteOrder: false);
        // rewrite with a big-endian marker
        using (var fs = new FileStream(path, FileMode.Open))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Update))
        using (var s = zip.CreateEntry("archive/byteorder").Open()) s.Write("big"u8);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("big-endian", e.Message);
    }

    [Fact]
    public void MissingStorageEntryNamesTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("missing.pt");
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(TwoTensors), new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] });
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("missing.pt", e.Message);
        Assert.Contains("`b`", e.Message);
        Assert.Contains("archive/data/1", e.Message);
    }

    [Fact]
    public void TensorReachingPastItsStorageNamesTheTensor()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("short.pt");
        TorchTensorSpec[] specs = [new("big", "FloatStorage", "0", 6, 2, [2, 3], [3, 1])]; // offset 2 + 6 elements > 6
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(specs), new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] });
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("short.pt", e.Message);
        Assert.Contains("`big`", e.Message);
    }

    [Fact]
    public void TruncatedZipIsAClearError()
    {
        using var dir = new Fixtures.TempDir();
        var bytes = File.ReadAllBytes(Data("dtypes.pt"));
        foreach (int keep in new[] { bytes.Length - 10, bytes.Length / 2, 100, 3 })
        {
            var path = dir.File($"cut{keep}.pt");
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
            Assert.Contains($"cut{keep}.pt", e.Message);
            Assert.True(e.Message.Contains("truncated") || e.Message.Contains("not a PyTorch checkpoint"), e.Message);
        }
    }

    [Fact]
    public void StorageShorterThanItsTensorIsAClearError()
    {
        // A 6-element tensor over a 5-element storage.
        using var dir = new Fixtures.TempDir();
        var path = dir.File("trunc.pt");
        TorchZipBuilder.Write(path, TorchZipBuilder.StateDictPickle(TwoTensors[..1]), new Dictionary<string, byte[]> { ["0"] = TorchZipBuilder.Floats(1, 2, 3, 4, 5) });
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("`a`", e.Message);
        Assert.Contains("5 elements", e.Message);
    }

    [Theory]
    [InlineData("not a checkpoint at all, just text")]
    [InlineData("")]
    public void WrongMagicIsAClearError(string content)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("wrong.pth");
        File.WriteAllText(path, content);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("wrong.pth", e.Message);
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void SafetensorsSavedAsBinSaysSo()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("pytorch_model.bin");
        new SafetensorsWriter().Add("x", [1f], 1).Save(path);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("safetensors", e.Message);
    }

    [Fact]
    public void ZipWithoutDataPklIsNotACheckpoint()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("other.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("hello.txt").Open()) s.Write("hi"u8);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("without data.pkl", e.Message);
    }

    // ---- malicious pickles: refused, never run -----------------------------------------------------------

    /// <summary>A pickle that, loaded by Python's pickle, would run <c>module.name(arg)</c> for its result.</summary>
    static byte[] CallingPickle(string module, string name, string arg, bool stackGlobal = false)
    {
        var w = new PickleWriter().Proto(stackGlobal ? 4 : 2);
        if (stackGlobal) w.StackGlobal(module, name); else w.Global(module, name);
        return w.Mark().Str(arg).Tuple().Reduce().Stop().ToArray();
    }

    public static TheoryData<string, string, bool> EvilGlobals => new()
    {
        { "os", "system", false },
        { "posix", "system", true },
        { "builtins", "eval", false },
        { "builtins", "exec", true },
        { "subprocess", "Popen", false },
        { "nt", "system", false },
        { "evil_package.payload", "run", false },
    };

    [Theory]
    [MemberData(nameof(EvilGlobals))]
    public void MaliciousGlobalIsRefusedAndNeverRuns(string module, string name, bool stackGlobal)
    {
        using var dir = new Fixtures.TempDir();
        var marker = dir.File("pwned");
        var path = dir.File("evil.pt");
        TorchZipBuilder.Write(path, CallingPickle(module, name, $"touch {marker}", stackGlobal), new Dictionary<string, byte[]>());
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("evil.pt", e.Message);
        Assert.Contains($"`{module}.{name}`", e.Message);
        Assert.Contains("refused", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void MaliciousGlobalBesideAStateDictIsStillRefused()
    {
        // {'state_dict': {'a': tensor}, 'x': os.system('touch marker')}: the weights are fine, the rest is not.
        using var dir = new Fixtures.TempDir();
        var marker = dir.File("pwned");
        var w = new PickleWriter().Proto().EmptyDict().Mark()
            .Str("state_dict").Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1]).SetItems()
            .Str("x").Global("os", "system").Mark().Str($"touch {marker}").Tuple().Reduce()
            .SetItems().Stop();
        var path = dir.File("evil.ckpt");
        TorchZipBuilder.Write(path, w.ToArray(), new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] });
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("`os.system`", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void MetadataObjectsBesideAStateDictAreSkipped()
    {
        // {'state_dict': {'a': tensor}, 'hparams': __main__.Config()}: like a Lightning checkpoint.
        using var dir = new Fixtures.TempDir();
        var w = new PickleWriter().Proto().EmptyDict().Mark()
            .Str("state_dict").Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1]).SetItems()
            .Str("hparams").Global("__main__", "Config").EmptyTuple().Op(0x81).EmptyDict().Str("lr").Int(3).SetItem().Op((byte)'b')
            .SetItems().Stop();
        var path = dir.File("meta.ckpt");
        TorchZipBuilder.Write(path, w.ToArray(), new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] });
        using var c = (PyTorchCheckpoint)CheckpointLoader.Open(path);
        Assert.Equal(["a"], c.Tensors.Select(t => t.Name));
        Assert.Equal(["__main__.Config"], c.IgnoredObjects);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c.ReadFloats("a"));
    }

    [Fact]
    public void BareTensorAndListOfTensors()
    {
        using var dir = new Fixtures.TempDir();
        var storages = new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] };
        var single = dir.File("one.pt");
        TorchZipBuilder.Write(single, new PickleWriter().Proto().Tensor("FloatStorage", "0", 6, 0, [6], [1]).Stop().ToArray(), storages);
        using (var c = CheckpointLoader.Open(single))
            Assert.Equal([1f, 2, 3, 4, 5, 6], c.ReadFloats("tensor"));

        var list = dir.File("list.pt");
        var w = new PickleWriter().Proto().Op((byte)']').Mark()
            .Tensor("FloatStorage", "0", 6, 0, [2], [1]).Tensor("FloatStorage", "0", 6, 4, [2], [1]).Op((byte)'e').Stop();
        TorchZipBuilder.Write(list, w.ToArray(), storages);
        using (var c = CheckpointLoader.Open(list))
        {
            Assert.Equal(["0", "1"], c.Tensors.Select(t => t.Name));
            Assert.Equal([5f, 6], c.ReadFloats("1"));
            Assert.Equal(["1"], c.Get("0").Layout!.SharesStorageWith);
        }
    }

    [Fact]
    public void RebuildTensorV3ViewsAnUntypedStorageWithItsDType()
    {
        // torch 2.x: _rebuild_tensor_v3(UntypedStorage, offset, size, stride, False, OrderedDict(), torch.uint16)
        PickleWriter V3(PickleWriter w, string dtype, long offset, long count) => w
            .Global("torch._utils", "_rebuild_tensor_v3").Mark()
            .Mark().Str("storage").Global("torch", "UntypedStorage").Str("0").Str("cpu").Int(16).Tuple().BinPersId()
            .Int(offset).Ints(count).Ints(1).False().Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Global("torch", dtype).Tuple().Reduce();
        var w = new PickleWriter().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        V3(w.Str("u16"), "uint16", 1, 3);
        V3(w.Str("f32"), "float32", 2, 2);
        w.SetItems().Stop();
        using var dir = new Fixtures.TempDir();
        var path = dir.File("v3.pt");
        var storage = new byte[16];
        BitConverter.GetBytes((ushort)65535).CopyTo(storage, 2);
        BitConverter.GetBytes((ushort)2).CopyTo(storage, 4);
        BitConverter.GetBytes((ushort)3).CopyTo(storage, 6);
        BitConverter.GetBytes(1.5f).CopyTo(storage, 8);
        BitConverter.GetBytes(-4f).CopyTo(storage, 12);
        TorchZipBuilder.Write(path, w.ToArray(), new Dictionary<string, byte[]> { ["0"] = storage });
        using var c = CheckpointLoader.Open(path);
        var u16 = c.Get("u16");
        Assert.Equal(DType.U16, u16.DType);
        Assert.Equal(storage[2..8], Raw(c, u16));
        Assert.Equal(DType.F32, c.Get("f32").DType);
        Assert.Equal([1.5f, -4f], c.ReadFloats("f32"));
        Assert.Equal(["f32"], u16.Layout!.SharesStorageWith);
    }

    [Fact]
    public void InertBuiltinsInMetadataAreSkippedButGetattrIsNot()
    {
        using var dir = new Fixtures.TempDir();
        var storages = new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] };
        PickleWriter Ckpt(string module, string name) => new PickleWriter().Proto().EmptyDict().Mark()
            .Str("state_dict").Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1]).SetItems()
            .Str("hparams").Global(module, name).Mark().Int(1).Int(5).Tuple().Reduce()
            .SetItems().Stop();
        var ok = dir.File("ok.ckpt");
        TorchZipBuilder.Write(ok, Ckpt("builtins", "slice").ToArray(), storages);
        using (var c = (PyTorchCheckpoint)CheckpointLoader.Open(ok))
            Assert.Equal(["builtins.slice"], c.IgnoredObjects);
        var bad = dir.File("bad.ckpt");
        TorchZipBuilder.Write(bad, Ckpt("builtins", "getattr").ToArray(), storages);
        Assert.Contains("`builtins.getattr`", Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(bad)).Message);
    }

    [Fact]
    public void MetadataObjectWithoutAStateDictIsRefused()
    {
        using var dir = new Fixtures.TempDir();
        var w = new PickleWriter().Proto().EmptyDict().Mark()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1])
            .Str("net").Global("__main__", "Net").EmptyTuple().Op(0x81)
            .SetItems().Stop();
        var path = dir.File("obj.pt");
        TorchZipBuilder.Write(path, w.ToArray(), new Dictionary<string, byte[]> { ["0"] = TwoStorages()["0"] });
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("`__main__.Net`", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, 0xff }, "unknown pickle opcode")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'X', 0xff, 0, 0, 0, (byte)'a' }, "ends early")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'h', 5, (byte)'.' }, "memo entry 5")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'s', (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { 0x80, 0x02, 0x82, 1, (byte)'.' }, "extension registry")]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1 }, "ends early")]
    public void CorruptPickleIsAClearError(byte[] pickle, string expected)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("corrupt.pt");
        TorchZipBuilder.Write(path, pickle, new Dictionary<string, byte[]>());
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("corrupt.pt", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TorchScriptArchiveIsExplained()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("scripted.pt");
        var w = new PickleWriter().Proto().Global("__torch__.Net", "Net").EmptyTuple().Op(0x81).Stop();
        TorchZipBuilder.Write(path, w.ToArray(), new Dictionary<string, byte[]>());
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("TorchScript", e.Message);
    }
}

/// <summary>
/// Writes a stored zip by hand so that an entry's data can be a sparse hole of any size. With
/// <paramref name="zip64"/>, sizes and offsets go in ZIP64 extra fields and a ZIP64 end record follows,
/// as in checkpoints over 4 GB.
/// </summary>
public static class SparseZip
{
    public static void Write(string path, (string Name, byte[]? Data, long Length)[] entries, bool zip64 = false)
    {
        using var fs = new FileStream(path, FileMode.Create);
        var w = new BinaryWriter(fs);
        var central = new MemoryStream();
        var cw = new BinaryWriter(central);
        foreach (var (name, data, length) in entries)
        {
            long size = data?.Length ?? length;
            var n = Encoding.UTF8.GetBytes(name);
            long offset = fs.Position;
            uint size32 = zip64 ? 0xFFFFFFFF : (uint)size;
            w.Write(0x04034b50u); w.Write((ushort)(zip64 ? 45 : 20)); w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);
            w.Write(0u); w.Write(size32); w.Write(size32); w.Write((ushort)n.Length); w.Write((ushort)(zip64 ? 20 : 0)); w.Write(n);
            if (zip64) { w.Write((ushort)1); w.Write((ushort)16); w.Write(size); w.Write(size); }
            w.Flush();
            if (data != null) w.Write(data);
            else { fs.SetLength(fs.Position + size); fs.Position += size; }
            cw.Write(0x02014b50u); cw.Write((ushort)(zip64 ? 45 : 20)); cw.Write((ushort)(zip64 ? 45 : 20)); cw.Write((ushort)0); cw.Write((ushort)0); cw.Write(0u);
            cw.Write(0u); cw.Write(size32); cw.Write(size32); cw.Write((ushort)n.Length); cw.Write((ushort)(zip64 ? 28 : 0)); cw.Write((ushort)0);
            cw.Write((ushort)0); cw.Write((ushort)0); cw.Write(0u); cw.Write(zip64 ? 0xFFFFFFFF : (uint)offset); cw.Write(n);
            if (zip64) { cw.Write((ushort)1); cw.Write((ushort)24); cw.Write(size); cw.Write(size); cw.Write(offset); }
        }
        w.Flush();
        long cdOffset = fs.Position;
        w.Write(central.ToArray());
        if (zip64)
        {
            long z64 = fs.Position;
            w.Write(0x06064b50u); w.Write(44UL); w.Write((ushort)45); w.Write((ushort)45); w.Write(0u); w.Write(0u);
            w.Write((ulong)entries.Length); w.Write((ulong)entries.Length); w.Write((ulong)central.Length); w.Write((ulong)cdOffset);
            w.Write(0x07064b50u); w.Write(0u); w.Write((ulong)z64); w.Write(1u);
            w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0xFFFF); w.Write((ushort)0xFFFF);
            w.Write(0xFFFFFFFFu); w.Write(0xFFFFFFFFu); w.Write((ushort)0);
            return;
        }
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)entries.Length); w.Write((ushort)entries.Length);
        w.Write((uint)central.Length); w.Write((uint)cdOffset); w.Write((ushort)0);
    }
}
