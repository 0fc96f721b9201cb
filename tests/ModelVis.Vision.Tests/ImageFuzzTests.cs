using ModelVis.Tests;
using ModelVis.Vision.Images;
using Xunit.Abstractions;

namespace ModelVis.Vision.Tests;

/// <summary>
/// The picture decoding path fuzzed (<see cref="BoundedFuzzer"/>): mutated PNGs (MNIST digits, a photo) and JPEGs
/// (a photo) — dimensions, chunk lengths, Huffman tables, cuts — must decode to pixels or give a
/// <see cref="VisionException"/>, each within the fuzzer's time and allocation bounds (the 64 Mpixel guard keeps a
/// header that claims a huge picture from allocating more).
/// </summary>
public class ImageFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void PngAndJpeg()
    {
        var seeds = new[]
        {
            File.ReadAllBytes(Fixtures.Path_("inputs", "mnist-png", "mnist_test_00_label7.png")),
            File.ReadAllBytes(Fixtures.Path_("inputs", "mnist-png", "mnist_test_01_label2.png")),
            File.ReadAllBytes(Fixtures.Path_("images", "cat.jpg")),
        };
        var outcome = BoundedFuzzer.Run("png/jpeg", 61, 18_000, seeds, bytes =>
        {
            var image = ImageDecoder.Decode(bytes, "fuzz");
            Assert.Equal((long)image.Width * image.Height * image.Channels, image.Pixels.LongLength);
        }, typeof(VisionException));
        output.WriteLine(outcome.ToString());
    }
}
