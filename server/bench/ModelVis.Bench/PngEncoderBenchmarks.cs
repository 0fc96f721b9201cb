using BenchmarkDotNet.Attributes;
using ModelVis.Render;
using SkiaSharp;

namespace ModelVis.Bench;

/// <summary>
/// Which PNG encoder the host keeps for its own rasters: ModelVis' PngWriter (palette PNG when a raster has at
/// most 256 colours, as every heatmap does) against SkiaSharp's PNG encoder (RGBA, its default filters and
/// zlib 6), on the two rasters the host sends most: a 1024² attention heatmap and the model-view sprite sheet
/// (12 layers × 12 heads of 64-token maps, scale 2). Sizes are printed once at setup.
/// Run: dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter '*PngEncoder*'
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class PngEncoderBenchmarks
{
    RgbaImage _heatmap = null!, _sheet = null!;

    [Params("heatmap 1024²", "sprite sheet 144 maps")]
    public string Raster { get; set; } = "";

    RgbaImage Image => Raster.StartsWith("heatmap") ? _heatmap : _sheet;

    [GlobalSetup]
    public void Setup()
    {
        const int n = 1024;
        var rng = new Random(1);
        var attention = new float[n * n];
        for (int q = 0; q < n; q++)      // causal rows that sum to 1: a peak on the diagonal, a sink on token 0, noise
        {
            float sum = 0;
            for (int k = 0; k <= q; k++) sum += attention[q * n + k] = (k == q ? 4f : k == 0 ? 8f : 0f) + (float)rng.NextDouble();
            for (int k = 0; k <= q; k++) attention[q * n + k] /= sum;
        }
        _heatmap = Heatmap.Render(attention, n, n, ColorScale.Fixed(0, 0.05f, "viridis"));
        var maps = new List<float[]>();
        for (int m = 0; m < 144; m++)
        {
            var a = new float[64 * 64];
            for (int q = 0; q < 64; q++)
            {
                float sum = 0;
                for (int k = 0; k <= q; k++) sum += a[q * 64 + k] = (k == (q + m) % (q + 1) ? 3f : 0f) + (float)rng.NextDouble();
                for (int k = 0; k <= q; k++) a[q * 64 + k] /= sum;
            }
            maps.Add(a);
        }
        _sheet = SpriteSheet.FromMaps(maps, 64, 64, ColorScale.Fixed(0, 1, "viridis"), columns: 12, pixelScale: 2, gap: 2, maxSize: 8192).Image;
        foreach (var (name, img) in new[] { ("heatmap", _heatmap), ("sheet", _sheet) })
            Console.WriteLine($"// {name} {img.Width}×{img.Height}: PngWriter {img.ToPng().Length:N0} B, Skia {Skia(img):N0} B");
    }

    [Benchmark(Baseline = true, Description = "ModelVis PngWriter (palette)")]
    public int PngWriter() => Image.ToPng().Length;

    [Benchmark(Description = "SkiaSharp PNG encoder (RGBA)")]
    public int SkiaPng() => Skia(Image);

    static unsafe int Skia(RgbaImage img)
    {
        var info = new SKImageInfo(img.Width, img.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        fixed (byte* p = img.Pixels)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p, img.Stride);
            using var data = pixmap.Encode(SKEncodedImageFormat.Png, 100);
            return (int)data.Size;
        }
    }
}
