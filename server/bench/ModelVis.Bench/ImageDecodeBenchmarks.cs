using BenchmarkDotNet.Attributes;
using ModelVis.Vision.Images;

namespace ModelVis.Bench;

/// <summary>
/// The host's picture decoding (SkiaSharp) on the fixture photos: file bytes → 8-bit pixels, as features/run does.
/// Run: dotnet run -c Release --project server/bench/ModelVis.Bench -- --filter '*ImageDecode*'
/// </summary>
[ShortRunJob]
public class ImageDecodeBenchmarks
{
    byte[] _bytes = [];

    [Params("kimono.jpg", "horse-cart.jpg", "cat.jpg", "gorilla.png")]
    public string Picture { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var dir = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "..", "..", "shared", "fixtures", "images"));
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null && !Directory.Exists(dir); d = d.Parent)
            dir = Path.Combine(d.FullName, "shared", "fixtures", "images");
        _bytes = File.ReadAllBytes(Path.Combine(dir, Picture));
        var image = ImageDecoder.Decode(_bytes, Picture);
        Console.WriteLine($"// {Picture}: {_bytes.Length:N0} B → {image.Width}×{image.Height}×{image.Channels}");
    }

    [Benchmark(Description = "ImageDecoder.Decode (SkiaSharp)")]
    public int Decode() => ImageDecoder.Decode(_bytes, Picture).Width;
}
