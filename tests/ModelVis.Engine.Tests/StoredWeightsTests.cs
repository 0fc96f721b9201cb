using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tensors;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// Weights kept in their stored precision (<see cref="StoredRowsMatrix"/>) give exactly the products of the same
/// weights widened and packed at load, on every kernel path, across segment and panel edges, with any thread count;
/// and a BF16 model captures what its float32-widened twin captures.
/// </summary>
[Collection("kernel path")] // switches MatMul.Path, Parallelism.Threads and the widening switch, all global
public class StoredWeightsTests
{
    static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    public static TheoryData<KernelPath, int, int, int, int> Shapes()
    {
        var data = new TheoryData<KernelPath, int, int, int, int>();
        foreach (var path in Enum.GetValues<KernelPath>())
            foreach (var (m, k, n) in new[] { (1, 16, 32), (7, 13, 33), (13, 300, 70), (64, 512, 333), (130, 96, 1000) })
                foreach (int threads in new[] { 1, 3 })
                    data.Add(path, m, k, n, threads);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Stored_rows_multiply_exactly_like_packed_floats(KernelPath path, int m, int k, int n, int threads)
    {
        Skip.If(path == KernelPath.Vector512 && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "no AVX-512 on this CPU");
        Skip.If(path == KernelPath.Vector256 && !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, "no AVX2 on this CPU");
        var (savedPath, savedThreads) = (MatMul.Path, Parallelism.Threads);
        try
        {
            MatMul.Path = path;
            Parallelism.Threads = threads;
            var a = Random(m * k, 1);
            var w = Random(n * k, 2);
            var bias = Random(n, 3);
            // Two segments (like q|k), the first ending inside a panel, decoded from the float rows.
            int first = Math.Max(1, n / 3);
            RowDecoder Rows(int offset) => (row, count, dst) => w.AsSpan((offset + row) * k, count * k).CopyTo(dst);
            var stored = new StoredRowsMatrix(k, new RowSegment(first, Rows(0), "F32"), new RowSegment(n - first, Rows(first), "F32"));
            var packed = PackedMatrix.FromTransposed(w, n, k);
            var expected = new Linear(packed, bias).Forward(a, m);
            var actual = new Linear(stored, bias).Forward(a, m);
            Assert.Equal(expected, actual);

            var column = new float[k];
            stored.CopyColumn(n - 1, column);
            Assert.Equal(w.AsSpan((n - 1) * k, k).ToArray(), column);
        }
        finally { (MatMul.Path, Parallelism.Threads) = (savedPath, savedThreads); }
    }

    [Fact]
    public void A_bf16_llama_captures_what_its_float32_widened_twin_captures()
    {
        // tiny-llama's weights rounded to BF16 and written as a hub checkpoint would be.
        var source = Fixtures.Model("tiny-llama");
        var dir = Directory.CreateTempSubdirectory("modelvis-bf16-").FullName;
        try
        {
            File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir, "config.json"));
            using (var ckpt = CheckpointLoader.Open(source))
            {
                var writer = new SafetensorsWriter();
                foreach (var t in ckpt.Tensors)
                {
                    var values = ckpt.ReadFloats(t);
                    var bytes = new byte[values.Length * 2];
                    for (int i = 0; i < values.Length; i++)
                        BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16));
                    writer.AddRaw(t.Name, DType.BF16, t.Shape, bytes);
                }
                writer.Save(Path.Combine(dir, "model.safetensors"));
            }
            var ids = new[] { 1, 5, 9, 2, 7, 7, 3, 11, 4, 0, 6, 8 };
            CaptureResult Capture(bool widen)
            {
                bool saved = ModelLoader.WidenWeightsToFloat32;
                ModelLoader.WidenWeightsToFloat32 = widen;
                try
                {
                    using var model = ModelLoader.Load(dir);
                    return model.Forward(new ForwardInput(ids), CaptureRequest.All(model.Config.Layers));
                }
                finally { ModelLoader.WidenWeightsToFloat32 = saved; }
            }
            var kept = Capture(widen: false).Named().ToDictionary(p => p.Key, p => p.Value);
            var widened = Capture(widen: true).Named().ToDictionary(p => p.Key, p => p.Value);
            Assert.Equal(widened.Keys.Order(), kept.Keys.Order());
            foreach (var (name, w) in widened)
            {
                var k = kept[name];
                double worst = 0;
                for (int i = 0; i < w.Data.Length; i++) worst = Math.Max(worst, Math.Abs(w.Data[i] - k.Data[i]));
                Assert.True(worst <= 1e-5, $"{name}: max |diff| {worst:E2}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

public class MemoryBudgetTests
{
    [Fact]
    public void A_pass_is_estimated_from_what_it_keeps()
    {
        var c = ConformanceTests.ModelOf("stories260K").Config;
        var (logitsOnly, _) = MemoryBudget.Estimate(c, 1000, CaptureRequest.LogitsOnly);
        var (all, breakdown) = MemoryBudget.Estimate(c, 1000, CaptureRequest.All(c.Layers));
        long attention = (long)c.Layers * c.Heads * 1000 * 1000 * 4;
        Assert.True(all - logitsOnly >= attention, $"{all} - {logitsOnly} < {attention}");
        Assert.Contains($"attention of {c.Layers} layers", breakdown);
    }

    [Fact]
    public void A_pass_that_cannot_fit_is_refused_with_numbers_and_a_way_out()
    {
        var c = ConformanceTests.ModelOf("stories260K").Config;
        // 5 layers × 8 heads × (4·10⁶)² floats: far beyond any machine.
        var e = Assert.Throws<ModelException>(() => MemoryBudget.Check(c, 4_000_000, CaptureRequest.All(c.Layers)));
        Assert.Contains("GB", e.Message);
        Assert.Contains("Select fewer tokens", e.Message);
        MemoryBudget.Check(c, 64, CaptureRequest.All(c.Layers));
    }
}
