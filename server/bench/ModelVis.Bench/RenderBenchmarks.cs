using BenchmarkDotNet.Attributes;
using ModelVis.Render;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>
/// Encoding a 1024×1024 diverging heatmap of weight-like noise to PNG (the default palette path against
/// truecolour RGBA with adaptive filters), and colour mapping alone.
/// Run: dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter '*RenderPng*'
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class RenderPngBenchmarks
{
    float[] _values = null!;
    RgbaImage _image = null!;
    ColorScale _scale = null!;
    const int N = 1024;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _values = new float[N * N];
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)   // smooth structure plus Gaussian-ish noise, as in a trained weight matrix
                _values[y * N + x] = 0.02f * MathF.Sin(x * 0.01f) * MathF.Cos(y * 0.007f) + 0.02f * (float)(rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5);
        _scale = ColorScale.Diverging(_values);
        _image = Heatmap.Render(_values, N, N, _scale);
    }

    [Benchmark(Baseline = true, Description = "heatmap → PNG (palette, default)")]
    public int HeatmapToPng() => Heatmap.Render(_values, N, N, _scale).ToPng().Length;

    [Benchmark(Description = "colour mapping only")]
    public int ColourMapOnly() => Heatmap.Render(_values, N, N, _scale).Width;

    [Benchmark(Description = "encode RGBA8, adaptive filters")]
    public int EncodeRgbaAdaptive() => _image.ToPng(new PngEncodeOptions { Palette = false }).Length;

    [Benchmark(Description = "encode RGBA8, adaptive filters, zlib Fastest")]
    public int EncodeRgbaFastest() => _image.ToPng(new PngEncodeOptions { Palette = false, Compression = System.IO.Compression.CompressionLevel.Fastest }).Length;

    [Benchmark(Description = "tensor image 4096×4096 → 512² PNG (max-abs)")]
    public int TensorImage() => TensorImageLayout.Render(_big, [4096, 4096]).Png.Length;

    float[] _big = null!;

    [GlobalSetup(Target = nameof(TensorImage))]
    public void SetupBig()
    {
        Setup();
        var rng = new Random(2);
        _big = new float[4096 * 4096];
        for (int i = 0; i < _big.Length; i++) _big[i] = (float)(rng.NextDouble() - 0.5);
    }
}

/// <summary>
/// Statistics over 10M floats (≈ a 4096×2560 weight): the SIMD one-pass moments, with the 64-bin histogram
/// pass, against a naive scalar two-pass double loop in the same run.
/// Run: dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter '*RenderStats*'
/// </summary>
[ShortRunJob]
public class RenderStatsBenchmarks
{
    float[] _x = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        _x = new float[10_000_000];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)(rng.NextDouble() * 0.1 - 0.05);
        _x[12345] = float.NaN;
    }

    [Benchmark(Baseline = true, Description = "naive scalar two-pass (double)")]
    public double Naive()
    {
        double sum = 0; long n = 0; float min = float.MaxValue, max = float.MinValue; long zeros = 0;
        foreach (var v in _x)
        {
            if (v == 0) zeros++;
            if (!float.IsFinite(v)) continue;
            sum += v; n++;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        double mean = sum / n, m2 = 0;
        foreach (var v in _x) if (float.IsFinite(v)) m2 += (v - mean) * (v - mean);
        return Math.Sqrt(m2 / n) + min + max + zeros;
    }

    [Benchmark(Description = "Statistics moments + counts (SIMD)")]
    public double Moments() => Statistics.Compute(_x, bins: 0).Std;

    [Benchmark(Description = "Statistics + 64-bin histogram")]
    public double WithHistogram() => Statistics.Compute(_x, bins: 64).Std;
}
