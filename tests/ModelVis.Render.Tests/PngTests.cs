using System.IO.Compression;
using ModelVis.Render;
using ModelVis.Tests;

namespace ModelVis.Render.Tests;

public class PngTests
{
    static byte[] Pixels(int w, int h, int channels, int seed)
    {
        // Smooth gradients plus noise, so every filter has something to do.
        var rng = new Random(seed);
        var px = new byte[w * h * channels];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                    px[(y * w + x) * channels + c] = (byte)(x * 3 + y * 5 + c * 40 + (rng.Next(8) == 0 ? rng.Next(256) : 0));
        return px;
    }

    [Fact]
    public void Crc32_matches_the_check_value() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Theory]
    [InlineData(PngColorType.Gray8)]
    [InlineData(PngColorType.GrayAlpha8)]
    [InlineData(PngColorType.Rgb8)]
    [InlineData(PngColorType.Rgba8)]
    public void Every_filter_round_trips_through_an_independent_decoder(PngColorType type)
    {
        foreach (var (w, h) in new[] { (1, 1), (1, 7), (37, 1), (33, 19), (130, 65) })
            foreach (PngFilterMode filter in Enum.GetValues<PngFilterMode>())
            {
                var px = Pixels(w, h, type.Channels(), w * 31 + h);
                var png = PngWriter.Encode(px, w, h, type, new PngEncodeOptions { Filter = filter });
                var back = SkiaPng.Decode(png);
                Assert.Equal((w, h, type), (back.Width, back.Height, SkiaPng.ColorType(png)));
                Assert.Equal(SkiaPng.ToRgba(px, type), back.Rgba);
            }
    }

    [Fact]
    public void File_layout_is_signature_IHDR_IDAT_IEND_with_valid_crcs()
    {
        var png = PngWriter.Encode(new byte[] { 1, 2, 3, 4, 5, 6 }, 2, 1, PngColorType.Rgb8);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }, png[..8]);
        var names = new List<string>();
        for (int pos = 8; pos < png.Length;)
        {
            int len = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            names.Add(System.Text.Encoding.ASCII.GetString(png, pos + 4, 4));
            uint crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Assert.Equal(crc, Crc32.Compute(png.AsSpan(pos + 4, 4 + len)));
            pos += 12 + len;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], names);
        // IHDR: 2×1, 8-bit, colour type 2, no interlace.
        Assert.Equal(new byte[] { 0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0 }, png[16..29]);
        // The IDAT payload is a zlib stream of filter byte + row.
        int idatLen = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(33));
        using var z = new ZLibStream(new MemoryStream(png, 41, idatLen), CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        Assert.Equal(7, raw.Length);
    }

    [Fact]
    public void Adaptive_filtering_keeps_a_smooth_truecolour_image_much_smaller_than_no_filter()
    {
        int n = 256;
        var px = new byte[n * n * 4];
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                int o = (y * n + x) * 4;
                px[o] = (byte)(x + y / 3); px[o + 1] = (byte)(128 + 100 * Math.Sin(x * 0.05 + y * 0.02)); px[o + 2] = (byte)(y * 7 / 8); px[o + 3] = 255;
            }
        var image = new RgbaImage(n, n, px);
        var none = image.ToPng(new PngEncodeOptions { Filter = PngFilterMode.None, Palette = false });
        var adaptive = image.ToPng(new PngEncodeOptions { Palette = false });
        Assert.True(adaptive.Length * 2 < none.Length, $"adaptive {adaptive.Length} B vs none {none.Length} B");
        Assert.Equal(px, SkiaPng.Decode(adaptive).Rgba);
        Assert.Equal(PngColorType.Rgba8, SkiaPng.ColorType(adaptive));
    }

    [Fact]
    public void Heatmaps_are_written_as_palette_pngs_that_decode_to_the_same_pixels()
    {
        int n = 300;
        var rng = new Random(5);
        var values = new float[n * n];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        values[17] = float.NaN;
        var image = Heatmap.Render(values, n, n, Colormap.RdBu, -1, 1);
        image.FillRect(0, 0, 3, 3, Rgba.Transparent);
        var png = image.ToPng();
        Assert.Equal(PngColorType.Palette8, SkiaPng.ColorType(png));
        Assert.Equal(image.Pixels, SkiaPng.Decode(png).Rgba);      // tRNS gives alpha
        var rgba = image.ToPng(new PngEncodeOptions { Palette = false });
        Assert.True(png.Length < rgba.Length * 0.7, $"palette {png.Length} B vs RGBA {rgba.Length} B");
        // More than 256 colours falls back to RGBA.
        var many = new RgbaImage(20, 20);
        for (int i = 0; i < 400; i++) many[i % 20, i / 20] = new Rgba((byte)i, (byte)(i >> 8), 7);
        Assert.False(PngWriter.TryIndex(many, out _, out _));
        Assert.Equal(PngColorType.Rgba8, SkiaPng.ColorType(many.ToPng()));
        Assert.Equal(many.Pixels, SkiaPng.Decode(many.ToPng()).Rgba);
    }

    [Fact]
    public void Opaque_images_can_drop_alpha()
    {
        var image = new RgbaImage(3, 2, new Rgba(10, 20, 30));
        var png = image.ToPng(new PngEncodeOptions { Palette = false }, dropOpaqueAlpha: true);
        Assert.Equal(PngColorType.Rgb8, SkiaPng.ColorType(png));
        Assert.Equal(image.Pixels, SkiaPng.Decode(png).Rgba);
        image[1, 1] = Rgba.Transparent;
        Assert.Equal(PngColorType.Rgba8, SkiaPng.ColorType(image.ToPng(new PngEncodeOptions { Palette = false }, dropOpaqueAlpha: true)));
        Assert.Equal(PngColorType.Palette8, SkiaPng.ColorType(image.ToPng()));
    }

    [Fact]
    public void Every_mnist_png_reencodes_to_the_same_pixels()
    {
        foreach (var path in Directory.GetFiles(Fixtures.Path_("inputs", "mnist-png"), "*.png"))
        {
            var (w, h, rgba) = SkiaPng.Decode(File.ReadAllBytes(path));
            var grey = Enumerable.Range(0, w * h).Select(i => rgba[i * 4]).ToArray();
            var again = SkiaPng.Decode(PngWriter.Encode(grey, w, h, PngColorType.Gray8));
            Assert.Equal(rgba, again.Rgba);
            Assert.Contains(grey, b => b > 200);
        }
    }
}

/// <summary>An independent decoder for the writer's files: SkiaSharp (libpng's rules), RGBA8 unpremultiplied.</summary>
static class SkiaPng
{
    public static (int Width, int Height, byte[] Rgba) Decode(byte[] png)
    {
        using var codec = SkiaSharp.SKCodec.Create(new MemoryStream(png)) ?? throw new InvalidDataException("SkiaSharp cannot read this PNG");
        Assert.Equal(SkiaSharp.SKEncodedImageFormat.Png, codec.EncodedFormat);
        var info = new SkiaSharp.SKImageInfo(codec.Info.Width, codec.Info.Height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out byte[] pixels);
        Assert.Equal(SkiaSharp.SKCodecResult.Success, result);
        return (info.Width, info.Height, pixels);
    }

    /// <summary>The colour type byte of IHDR.</summary>
    public static PngColorType ColorType(byte[] png) => (PngColorType)png[25];

    /// <summary>Samples of <paramref name="type"/> widened to RGBA8 as a decoder shows them.</summary>
    public static byte[] ToRgba(byte[] px, PngColorType type)
    {
        int c = type.Channels(), n = px.Length / c;
        var rgba = new byte[n * 4];
        for (int i = 0; i < n; i++)
        {
            var s = px.AsSpan(i * c, c);
            (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]) = type switch
            {
                PngColorType.Gray8 => (s[0], s[0], s[0], (byte)255),
                PngColorType.GrayAlpha8 => (s[0], s[0], s[0], s[1]),
                PngColorType.Rgb8 => (s[0], s[1], s[2], (byte)255),
                _ => (s[0], s[1], s[2], s[3]),
            };
        }
        return rgba;
    }
}
