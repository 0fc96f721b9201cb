using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using ModelVis.Checkpoints;
using ModelVis.Checkpoints.Tests;
using ModelVis.Gpu;
using ModelVis.Gpu.Kernels;
using ModelVis.Models;
using ModelVis.Tensors;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Engine.Tests;

/// <summary>Every transformer fixture case again, with products and attention run by the GPU kernels on ILGPU's CPU accelerator.</summary>
public class GpuConformanceTests(ITestOutputHelper output) : ConformanceTests(output)
{
    protected override ComputeDevice Device => GpuDevice.Select("ilgpu-cpu");
}

/// <summary>Every GGUF fixture case again (F32, F16, Q8_0, Q4_0, Q4_K, Q6_K rows decoded in the kernels) on ILGPU's CPU accelerator.</summary>
public class GpuGgufConformanceTests : GgufConformanceTests
{
    protected override ComputeDevice Device => GpuDevice.Select("ilgpu-cpu");
}

/// <summary>The GPU kernels against the CPU kernels on the same inputs, their PTX, and how a device is chosen and refused.</summary>
public class GpuKernelTests
{
    // Its own device: the conformance suites share the process-wide one in parallel, and these tests count its launches.
    static readonly GpuDevice Accelerator = GpuDevice.OpenCpuAccelerator();

    public static TheoryData<string> StorageTypes() => new(GpuDevice.DecodedStorage);

    /// <summary>A [rows, k] weight of random values in <paramref name="storage"/>, with its raw bytes readable.</summary>
    static StoredRowsMatrix RandomStoredRows(string storage, int rows, int k, Random rng)
    {
        var type = Enum.Parse<DType>(storage);
        byte[] bytes;
        if (type.IsQuantized())
        {
            var (elements, _) = type.Block();
            bytes = RandomGgmlBlocks.Make(type, rows * k / elements, rng);
        }
        else
        {
            var values = Enumerable.Range(0, rows * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            bytes = type switch
            {
                DType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
                DType.F16 => MemoryMarshal.AsBytes(values.Select(v => (System.Half)v).ToArray().AsSpan()).ToArray(),
                _ => MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray(),
            };
        }
        long rowBytes = bytes.Length / rows;
        return new StoredRowsMatrix(k, new RowSegment(rows,
            (first, count, destination) =>
            {
                var source = bytes.AsSpan((int)(first * rowBytes), (int)(count * rowBytes));
                if (type.IsQuantized()) GgmlQuantization.DequantizeBlocks(type, source, destination[..(count * k)]);
                else FloatConversion.Widen(type, source, destination[..(count * k)]);
            },
            storage, rowBytes,
            (first, count, destination) => bytes.AsSpan((int)(first * rowBytes), (int)(count * rowBytes)).CopyTo(destination)));
    }

    static float[] Random(int count, Random rng) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        double scale = expected.Max(v => Math.Abs(v)), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= relative * Math.Max(scale, 1e-30), $"{what}: max |diff| {worst:E3} against values up to {scale:E3}");
    }

    [Theory, MemberData(nameof(StorageTypes))]
    public void Stored_rows_multiply_on_the_device_as_the_cpu_decodes_them(string storage)
    {
        var rng = new Random(storage.GetHashCode() & 0xFFFF);
        const int rows = 37, k = 512, m = 7; // neither a multiple of the 4 × 4 tile
        var host = RandomStoredRows(storage, rows, k, rng);
        using var placed = (GpuMatrix)Accelerator.Place(host);
        Assert.Equal(storage, placed.Storage);
        var a = Random(m * k, rng);
        var bias = new Linear(host, Random(rows, rng)).PaddedBias!;
        var start = Random(m * rows, rng);

        foreach (bool accumulate in new[] { false, true })
        {
            var expected = (float[])start.Clone();
            var actual = (float[])start.Clone();
            MatMul.Multiply(a, m, host, expected, bias, accumulate);
            MatMul.Multiply(a, m, placed, actual, bias, accumulate);
            AssertClose(expected, actual, 1e-5, $"{storage}, accumulate {accumulate}");
        }
    }

    [Fact]
    public void Segments_of_different_types_side_by_side_land_in_their_own_columns()
    {
        var rng = new Random(5);
        const int k = 256, m = 5;
        var q = RandomStoredRows("Q4_K", 9, k, rng);
        var kv = RandomStoredRows("BF16", 6, k, rng);
        var fused = new StoredRowsMatrix(k, [.. q.Segments, .. kv.Segments]);
        using var placed = (GpuMatrix)Accelerator.Place(fused);
        var a = Random(m * k, rng);
        var expected = new float[m * 15];
        var actual = new float[m * 15];
        MatMul.Multiply(a, m, fused, expected);
        MatMul.Multiply(a, m, placed, actual);
        AssertClose(expected, actual, 1e-5, "Q4_K | BF16");
        // Column reads (embedding rows, W_O slices) come from the host rows.
        var column = new float[k];
        var hostColumn = new float[k];
        placed.CopyColumn(11, column);
        fused.CopyColumn(11, hostColumn);
        Assert.Equal(hostColumn, column);
    }

    [Fact]
    public void A_packed_float32_matrix_is_placed_as_its_rows()
    {
        var rng = new Random(8);
        var packed = new PackedMatrix(33, 70);
        for (int j = 0; j < 70; j++) packed.SetColumns(j, Random(33, rng));
        using var placed = (GpuMatrix)Accelerator.Place(packed);
        Assert.Equal(70L * 33 * 4, placed.DeviceBytes);
        var a = Random(3 * 33, rng);
        var expected = new float[3 * 70];
        var actual = new float[3 * 70];
        MatMul.Multiply(a, 3, packed, expected);
        MatMul.Multiply(a, 3, placed, actual);
        AssertClose(expected, actual, 1e-5, "F32 packed");
    }

    [Theory]
    [InlineData("silu"), InlineData("gelu_pytorch_tanh"), InlineData("gelu"), InlineData("relu")]
    public void A_gated_mlp_runs_whole_on_the_device_as_on_the_cpu(string activation)
    {
        var rng = new Random(activation.Length);
        const int n = 6, d = 64, width = 96;
        var gateUp = new Linear(RandomStoredRows("BF16", 2 * width, d, rng), Random(2 * width, rng));
        var down = new Linear(RandomStoredRows("Q8_0", d, width, rng), Random(d, rng));
        using var gateUpOnDevice = (GpuMatrix)Accelerator.Place(gateUp.Weight);
        using var downOnDevice = (GpuMatrix)Accelerator.Place(down.Weight);
        var x = Random(n * d, rng);
        var expected = new float[n * d];
        var expectedActivations = new float[n * width];
        ComputeDevice.Cpu.GatedMlp(x, n, gateUp, down, activation, new float[n * 2 * width], expectedActivations, true, null, expected);

        long launches = Accelerator.ProductLaunches;
        var output = new float[n * d];
        var activations = new float[n * width];
        Accelerator.GatedMlp(x, n, new Linear(gateUpOnDevice, gateUp.PaddedBias![..(2 * width)]), new Linear(downOnDevice, down.PaddedBias![..d]),
            activation, new float[n * 2 * width], activations, true, null, output);
        Assert.True(Accelerator.ProductLaunches >= launches + 2);
        AssertClose(expectedActivations, activations, 1e-5, $"{activation}: activations");
        AssertClose(expected, output, 1e-5, $"{activation}: output");

        // Not kept: the activations stay on the device (the buffer is left as it was), the output is the same.
        var untouched = new float[n * width];
        var again = new float[n * d];
        Accelerator.GatedMlp(x, n, new Linear(gateUpOnDevice, gateUp.PaddedBias![..(2 * width)]), new Linear(downOnDevice, down.PaddedBias![..d]),
            activation, new float[n * 2 * width], untouched, false, null, again);
        Assert.All(untouched, v => Assert.Equal(0f, v));
        Assert.Equal(output, again);
    }

    public static TheoryData<string> SublayerCases() =>
        new("llama gqa", "per-head norms", "whole-width norms", "partial rotary", "soft cap and window", "key mask");

    /// <summary>The rotary decoders' attention sublayer whole on the device (products, q/k norms, rotary, attention) as on the CPU.</summary>
    [Theory, MemberData(nameof(SublayerCases))]
    public void A_rotary_attention_sublayer_runs_whole_on_the_device_as_on_the_cpu(string name)
    {
        var rng = new Random(name.Length * 7 + name[^1]);
        const int n = 11, d = 48, heads = 4, hd = 16; // o_proj in Q8_0: its rows (q width 64) whole blocks of 32
        int kvHeads = name == "llama gqa" ? 2 : 4, qWidth = heads * hd, kvWidth = kvHeads * hd, width = qWidth + 2 * kvWidth;
        var qkv = new Linear(RandomStoredRows("BF16", width, d, rng), Random(width, rng));
        var o = new Linear(RandomStoredRows("Q8_0", d, qWidth, rng));
        var rotary = new Rotary(name == "partial rotary" ? 8 : hd, 10000, 64);
        var (cos, sin) = rotary.Tables(n);
        var gain = (int count) => Random(count, rng).Select(v => 1 + v / 4).ToArray();
        IReadOnlyList<RowNorm> norms = name switch
        {
            "per-head norms" => [new(0, heads, hd, gain(hd), 1e-6f), new(qWidth, kvHeads, hd, gain(hd), 1e-6f)],
            "whole-width norms" => [new(0, 1, qWidth, gain(qWidth), 1e-6f), new(qWidth, 1, kvWidth, gain(kvWidth), 1e-6f)],
            _ => [],
        };
        var mask = name switch
        {
            "soft cap and window" => new AttentionMask(true, SlidingWindow: 3),
            "key mask" => new AttentionMask(true, Enumerable.Range(0, n).Select(j => j == 2 ? 0 : 1).ToArray()),
            _ => new AttentionMask(true),
        };
        float softCap = name == "soft cap and window" ? 0.8f : 0;
        RotaryAttention Sublayer(Linear q, Linear output) => new(q, output, heads, kvHeads, hd, MathF.Sqrt(hd), softCap, norms, rotary, cos, sin, mask);

        var x = Random(n * d, rng);
        var expected = new float[n * d];
        var expectedProbabilities = new float[heads * n * n];
        ComputeDevice.Cpu.SelfAttention(Sublayer(qkv, o), x, n, new float[n * width], new float[n * qWidth], expectedProbabilities, null, expected);

        using var qkvOnDevice = (GpuMatrix)Accelerator.Place(qkv.Weight);
        using var oOnDevice = (GpuMatrix)Accelerator.Place(o.Weight);
        var onDevice = Sublayer(new Linear(qkvOnDevice, qkv.PaddedBias![..width]), new Linear(oOnDevice));
        long launches = Accelerator.AttentionLaunches;
        var output = new float[n * d];
        var probabilities = new float[heads * n * n];
        Accelerator.SelfAttention(onDevice, x, n, new float[n * width], new float[n * qWidth], probabilities, null, output);
        Assert.Equal(launches + 1, Accelerator.AttentionLaunches);
        AssertClose(expected, output, 1e-5, $"{name}: output");
        AssertClose(expectedProbabilities, probabilities, 1e-5, $"{name}: probabilities");
        for (int i = 0; i < probabilities.Length; i++)
            if (expectedProbabilities[i] == 0) Assert.True(probabilities[i] == 0, $"{name}: masked probability {i} is {probabilities[i]}");

        // No probabilities asked for: the same output. A hook on the heads' outputs: the CPU's way, the hook called once.
        var again = new float[n * d];
        Accelerator.SelfAttention(onDevice, x, n, new float[n * width], new float[n * qWidth], [], null, again);
        Assert.Equal(output, again);
        int calls = 0;
        var hooked = new float[n * d];
        Accelerator.SelfAttention(onDevice, x, n, new float[n * width], new float[n * qWidth], [], _ => calls++, hooked);
        Assert.Equal(1, calls);
        AssertClose(expected, hooked, 1e-5, $"{name}: hooked");
    }

    public static TheoryData<string> AttentionCases() =>
        new("causal", "causal gqa", "key mask", "masked row", "sliding window", "soft cap", "relative bias", "neox stride", "cross");

    [Theory, MemberData(nameof(AttentionCases))]
    public void Attention_on_the_device_matches_the_cpu_kernel(string name)
    {
        var rng = new Random(name.Length * 31 + name[0]);
        int n = 13, nk = name == "cross" ? 9 : n, heads = 4, kvHeads = name == "causal gqa" ? 2 : 4, hd = 8;
        int headStride = name == "neox stride" ? 3 * hd : hd;
        int qWidth = heads * hd, kvWidth = kvHeads * hd;
        bool cross = name is "cross" or "relative bias";
        var mask = name switch
        {
            "key mask" => new AttentionMask(true, Enumerable.Range(0, n).Select(j => j % 3 == 1 ? 0 : 1).ToArray()),
            "masked row" => new AttentionMask(false, Enumerable.Range(0, n).Select(_ => 0).ToArray()),
            "sliding window" => new AttentionMask(true, SlidingWindow: 4),
            _ when cross => new AttentionMask(false),
            _ => new AttentionMask(true),
        };
        var bias = name == "relative bias" ? Random(heads * (n + nk - 1), rng) : [];
        float softCap = name == "soft cap" ? 0.5f : 0;

        // One buffer [n, q | k | v], or separate query rows and [nk, k | v] rows for cross-attention.
        int rowStride = name == "neox stride" ? 3 * qWidth : qWidth + 2 * kvWidth;
        int qOffset = 0, kOffset = name == "neox stride" ? hd : qWidth, vOffset = name == "neox stride" ? 2 * hd : qWidth + kvWidth;
        var qkv = Random(n * rowStride, rng);
        float[] kv = qkv;
        int kvStride = rowStride;
        if (cross)
        {
            kvStride = 2 * kvWidth;
            kv = Random(nk * kvStride, rng);
            kOffset = 0;
            vOffset = kvWidth;
        }
        var expectedContext = new float[n * qWidth];
        var expectedProbabilities = new float[heads * n * nk];
        var context = new float[n * qWidth];
        var probabilities = new float[heads * n * nk];
        ComputeDevice.Cpu.Attend(qkv, n, rowStride, qOffset, kv, nk, kvStride, kOffset, vOffset, heads, kvHeads, hd, MathF.Sqrt(hd), mask,
            expectedContext, expectedProbabilities, bias, softCap, headStride);
        Accelerator.Attend(qkv, n, rowStride, qOffset, kv, nk, kvStride, kOffset, vOffset, heads, kvHeads, hd, MathF.Sqrt(hd), mask,
            context, probabilities, bias, softCap, headStride);
        AssertClose(expectedContext, context, 1e-5, $"{name}: context");
        AssertClose(expectedProbabilities, probabilities, 1e-5, $"{name}: probabilities");
        for (int i = 0; i < probabilities.Length; i++)
            if (expectedProbabilities[i] == 0) Assert.True(probabilities[i] == 0, $"{name}: masked probability {i} is {probabilities[i]}, not exactly 0");

        // Without probabilities asked for, the same context.
        var contextOnly = new float[n * qWidth];
        Accelerator.Attend(qkv, n, rowStride, qOffset, kv, nk, kvStride, kOffset, vOffset, heads, kvHeads, hd, MathF.Sqrt(hd), mask,
            contextOnly, [], bias, softCap, headStride);
        Assert.Equal(context, contextOnly);
    }

    /// <summary>The kernels as CUDA would get them: ILGPU compiles each to PTX for sm_80 and sm_90 without a GPU present.</summary>
    [Fact]
    public void Every_kernel_compiles_to_ptx()
    {
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2).EnableAlgorithms());
        var kernels = typeof(IStoredRows).Assembly.GetTypes()
            .Where(t => t.IsValueType && typeof(IStoredRows).IsAssignableFrom(t))
            .Select(t => typeof(Products).GetMethod(nameof(Products.Multiply))!.MakeGenericMethod(t))
            .Append(typeof(AttentionKernel).GetMethod(nameof(AttentionKernel.Attend))!)
            .Append(typeof(GateKernel).GetMethod(nameof(GateKernel.Apply))!)
            .Append(typeof(RowKernels).GetMethod(nameof(RowKernels.RmsNorm))!)
            .Append(typeof(RowKernels).GetMethod(nameof(RowKernels.Rotate))!)
            .ToList();
        Assert.Equal(GpuDevice.DecodedStorage.Count + 4, kernels.Count);
        foreach (var architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            using var backend = new PTXBackend(context, architecture, CudaInstructionSet.ISA_80, null!);
            foreach (var kernel in kernels)
            {
                var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(kernel), default);
                Assert.Contains(".entry", compiled.PTXAssembly);
            }
        }
    }

    [Fact]
    public void Devices_are_chosen_by_name_and_unknown_or_missing_ones_are_refused()
    {
        Assert.Same(ComputeDevice.Cpu, GpuDevice.Select("cpu"));
        Assert.Contains("auto, cpu, cuda, ilgpu-cpu", Assert.Throws<ArgumentException>(() => GpuDevice.Select("tpu")).Message);
        if (GpuDevice.OpenCuda() is null)
        {
            Assert.Same(ComputeDevice.Cpu, GpuDevice.Select("auto"));
            Assert.Contains("no CUDA device", Assert.Throws<DeviceException>(() => GpuDevice.Select("cuda")).Message);
        }
        else Assert.StartsWith("cuda: ", GpuDevice.Select("auto").Name);
    }

    [Fact]
    public void A_model_too_big_for_the_device_is_refused_before_anything_is_uploaded()
    {
        using var small = GpuDevice.OpenCpuAccelerator(memoryBytes: GpuDevice.Headroom + 1000);
        var e = Assert.Throws<ModelException>(() => ModelLoader.Load(Fixtures.Model("tiny-llama"), small));
        Assert.Contains("GB free", e.Message);
        Assert.Contains("--device cpu", e.Message);
        Assert.Equal(0, small.PlacedBytes);
    }

    [Fact]
    public void A_model_places_its_matrices_once_and_closing_it_frees_them()
    {
        using var device = GpuDevice.OpenCpuAccelerator();
        var model = ModelLoader.Load(Fixtures.Model("stories260K"), device);
        long placed = device.PlacedBytes;
        Assert.True(placed > 0);
        Assert.Same(device, model.Device);
        model.Forward(new ForwardInput([1, 403, 407, 261]), CaptureRequest.LogitsOnly);
        // 5 layers × (q|k|v, o, gate|up, down) + the head; 5 attention calls; nothing uploaded again.
        Assert.Equal(5 * 4 + 1, device.ProductLaunches);
        Assert.Equal(5, device.AttentionLaunches);
        Assert.Equal(placed, device.PlacedBytes);
        model.Dispose();
        Assert.Equal(0, device.PlacedBytes);
    }
}
