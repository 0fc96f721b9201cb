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
    public void Every_filter_round_trips_through_the_reader(PngColorType type)
    {
        foreach (var (w, h) in new[] { (1, 1), (1, 7), (37, 1), (33, 19), (130, 65) })
            foreach (PngFilterMode filter in Enum.GetValues<PngFilterMode>())
            {
                var px = Pixels(w, h, type.Channels(), w * 31 + h);
                var png = PngWriter.Encode(px, w, h, type, new PngEncodeOptions { Filter = filter });
                var back = PngReader.Decode(png);
                Assert.Equal((w, h, type), (back.Width, back.Height, back.ColorType));
                Assert.Equal(px, back.Pixels);
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
        Assert.Equal(px, PngReader.Decode(adaptive).Pixels);
        Assert.Equal(PngColorType.Rgba8, PngReader.Decode(adaptive).SourceColorType);
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
        var back = PngReader.Decode(png);
        Assert.Equal(PngColorType.Palette8, back.SourceColorType);
        Assert.Equal(PngColorType.Rgba8, back.ColorType);          // tRNS gives alpha
        Assert.Equal(image.Pixels, back.Pixels);
        var rgba = image.ToPng(new PngEncodeOptions { Palette = false });
        Assert.True(png.Length < rgba.Length * 0.7, $"palette {png.Length} B vs RGBA {rgba.Length} B");
        // More than 256 colours falls back to RGBA.
        var many = new RgbaImage(20, 20);
        for (int i = 0; i < 400; i++) many[i % 20, i / 20] = new Rgba((byte)i, (byte)(i >> 8), 7);
        Assert.False(PngWriter.TryIndex(many, out _, out _));
        Assert.Equal(PngColorType.Rgba8, PngReader.Decode(many.ToPng()).SourceColorType);
        Assert.Equal(many.Pixels, PngReader.Decode(many.ToPng()).Pixels);
    }

    [Fact]
    public void Opaque_images_can_drop_alpha()
    {
        var image = new RgbaImage(3, 2, new Rgba(10, 20, 30));
        var png = image.ToPng(new PngEncodeOptions { Palette = false }, dropOpaqueAlpha: true);
        var back = PngReader.Decode(png);
        Assert.Equal(PngColorType.Rgb8, back.ColorType);
        Assert.Equal(image.Pixels, back.ToRgba().Pixels);
        image[1, 1] = Rgba.Transparent;
        Assert.Equal(PngColorType.Rgba8, PngReader.Decode(image.ToPng(new PngEncodeOptions { Palette = false }, dropOpaqueAlpha: true)).ColorType);
        Assert.Equal(PngColorType.Palette8, PngReader.Decode(image.ToPng()).SourceColorType);
    }

    // Expected values decoded independently at development time (python3 zlib + a hand-written unfilter).
    [Theory]
    [InlineData("mnist_test_00_label7.png", 18454, 116, 60, new[] { 16, 59, 17, 249, 18, 254, 19, 62 })]
    [InlineData("mnist_test_03_label0.png", 37014, 193, 110, new[] { 7, 37, 8, 253, 9, 253, 18, 32, 19, 202, 20, 255, 21, 253, 22, 164 })]
    public void Decodes_the_MNIST_fixture_pngs(string file, int sum, int nonZero, int pixel7_10, int[] row14NonZero)
    {
        var img = PngReader.Read(Fixtures.Path_("inputs", "mnist-png", file));
        Assert.Equal((28, 28, PngColorType.Gray8, PngColorType.Gray8), (img.Width, img.Height, img.ColorType, img.SourceColorType));
        Assert.Equal(sum, img.Pixels.Sum(b => (int)b));
        Assert.Equal(nonZero, img.Pixels.Count(b => b != 0));
        Assert.Equal(pixel7_10, img.Pixels[7 * 28 + 10]);
        var row14 = img.Pixels.AsSpan(14 * 28, 28).ToArray();
        var expected = new int[28];
        for (int i = 0; i < row14NonZero.Length; i += 2) expected[row14NonZero[i]] = row14NonZero[i + 1];
        Assert.Equal(expected, row14.Select(b => (int)b));
        var gray = img.ToGrayFloats();
        Assert.Equal(pixel7_10 / 255f, gray[7 * 28 + 10]);
    }

    [Fact]
    public void Every_mnist_png_decodes_and_reencodes_identically()
    {
        foreach (var path in Directory.GetFiles(Fixtures.Path_("inputs", "mnist-png"), "*.png"))
        {
            var img = PngReader.Read(path);
            var again = PngReader.Decode(PngWriter.Encode(img.Pixels, img.Width, img.Height, img.ColorType));
            Assert.Equal(img.Pixels, again.Pixels);
            Assert.Contains(img.Pixels, b => b > 200);
        }
    }

    // Made with python3 (zlib + struct) at development time: 5×3, 2-bit palette of 4, tRNS [255, 128], index (x + y) % 4.
    const string Palette2Bit = "iVBORw0KGgoAAAANSUhEUgAAAAUAAAADAgMAAAAmWC1rAAAADFBMVEX/AAAA/wAAAP8KFB4iiCkEAAAAAnRSTlP/gAgPs2oAAAARSURBVHicY5BmYMhxYNjYAAAF3wH5oQmxeQAAAABJRU5ErkJggg==";
    // 4×3 RGB8, rows filtered Average, Paeth, Sub by the python encoder: (x·40 + y, 200 − x·30, y·70).
    const string RgbFiltered = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAJUlEQVR4nGNmOMGg4cZgY84QoMHAwsjgxsjAAEVMJ3o0HjFAEABtKAboKNi9KgAAAABJRU5ErkJggg==";
    const string Interlaced = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAAEg2mJuAAAAC0lEQVR4nGNgAAEAAAYAAf6MZ8gAAAAASUVORK5CYII=";
    const string Gray16 = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAAAAACB2fwVAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=";

    [Fact]
    public void Decodes_sub_byte_palettes_with_transparency()
    {
        var img = PngReader.Decode(Convert.FromBase64String(Palette2Bit));
        Assert.Equal((5, 3, PngColorType.Palette8, PngColorType.Rgba8), (img.Width, img.Height, img.SourceColorType, img.ColorType));
        var palette = new[] { new Rgba(255, 0, 0, 255), new Rgba(0, 255, 0, 128), new Rgba(0, 0, 255), new Rgba(10, 20, 30) };
        var rgba = img.ToRgba();
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
                Assert.Equal(palette[(x + y) % 4], rgba[x, y]);
    }

    [Fact]
    public void Decodes_average_paeth_and_sub_rows_from_another_encoder()
    {
        var img = PngReader.Decode(Convert.FromBase64String(RgbFiltered));
        Assert.Equal(PngColorType.Rgb8, img.ColorType);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
            {
                int o = (y * 4 + x) * 3;
                Assert.Equal(((byte)(x * 40 + y), (byte)(200 - x * 30), (byte)(y * 70)), (img.Pixels[o], img.Pixels[o + 1], img.Pixels[o + 2]));
            }
    }

    [Fact]
    public void Unsupported_and_corrupt_files_fail_clearly()
    {
        Assert.Contains("interlaced", Assert.Throws<PngFormatException>(() => PngReader.Decode(Convert.FromBase64String(Interlaced))).Message);
        Assert.Contains("16-bit", Assert.Throws<PngFormatException>(() => PngReader.Decode(Convert.FromBase64String(Gray16))).Message);
        Assert.Contains("signature", Assert.Throws<PngFormatException>(() => PngReader.Decode("GIF89a..."u8)).Message);

        var good = PngWriter.Encode(Pixels(8, 8, 3, 1), 8, 8, PngColorType.Rgb8);
        var badCrc = (byte[])good.Clone();
        badCrc[30] ^= 1;   // inside IHDR's CRC
        Assert.Contains("CRC", Assert.Throws<PngFormatException>(() => PngReader.Decode(badCrc)).Message);
        Assert.Contains("past the end", Assert.Throws<PngFormatException>(() => PngReader.Decode(good.AsSpan(0, good.Length - 20))).Message);
    }
}
