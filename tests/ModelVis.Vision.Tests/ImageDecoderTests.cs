using System.Buffers.Binary;
using ModelVis.Render;
using ModelVis.Tests;
using ModelVis.Vision.Images;
using SkiaSharp;

namespace ModelVis.Vision.Tests;

/// <summary>
/// The host decodes pictures itself (SkiaSharp): a four-colour test picture written as PNG, WebP (lossless), JPEG
/// (SkiaSharp's encoders), BMP and GIF (written here byte by byte, SkiaSharp encodes neither), the fixture photos,
/// hand-made PNGs from another encoder, EXIF orientation, and the errors a person sees.
/// </summary>
public class ImageDecoderTests
{
    const int W = 12, H = 8;
    static readonly Rgba[] Colours = [new(230, 30, 20), new(20, 200, 40), new(30, 40, 220), new(250, 250, 250)];

    /// <summary>Quadrants of four colours: colour (x ≥ W/2) + 2·(y ≥ H/2).</summary>
    static int ColourAt(int x, int y) => (x >= W / 2 ? 1 : 0) + (y >= H / 2 ? 2 : 0);

    static byte[] TestRgba()
    {
        var px = new byte[W * H * 4];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                var c = Colours[ColourAt(x, y)];
                (px[(y * W + x) * 4], px[(y * W + x) * 4 + 1], px[(y * W + x) * 4 + 2], px[(y * W + x) * 4 + 3]) = (c.R, c.G, c.B, c.A);
            }
        return px;
    }

    static unsafe byte[] SkiaEncode(byte[] rgba, int w, int h, Func<SKPixmap, SKData?> encode)
    {
        fixed (byte* p = rgba)
        {
            using var pixmap = new SKPixmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), (IntPtr)p, w * 4);
            using var data = encode(pixmap) ?? throw new InvalidOperationException("SkiaSharp could not encode the test picture");
            return data.ToArray();
        }
    }

    /// <summary>24-bit BMP, BITMAPINFOHEADER, rows bottom-up, padded to 4 bytes, BGR.</summary>
    static byte[] Bmp(byte[] rgba, int w, int h)
    {
        int stride = (w * 3 + 3) & ~3, size = 54 + stride * h;
        var b = new byte[size];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), size);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int s = (y * w + x) * 4, d = 54 + (h - 1 - y) * stride + x * 3;
                (b[d], b[d + 1], b[d + 2]) = (rgba[s + 2], rgba[s + 1], rgba[s]);
            }
        return b;
    }

    /// <summary>GIF89a with a 4-entry palette; LZW kept at 3-bit codes by a clear code before every pair of pixels.</summary>
    static byte[] Gif(int w, int h)
    {
        var o = new List<byte>();
        o.AddRange("GIF89a"u8.ToArray());
        o.AddRange([(byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0x81, 0, 0]);     // global table of 2^(1+1) colours
        foreach (var c in Colours) o.AddRange([c.R, c.G, c.B]);
        o.AddRange([0x2C, 0, 0, 0, 0, (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0, 2]); // image, LZW minimum code size 2
        var codes = new List<int>();
        for (int i = 0; i < w * h; i++)
        {
            if (i % 2 == 0) codes.Add(4);                                                   // clear
            codes.Add(ColourAt(i % w, i / w));
        }
        codes.Add(5);                                                                        // end of information
        var bytes = new List<byte>();
        int acc = 0, bits = 0;
        foreach (var code in codes)
        {
            acc |= code << bits; bits += 3;
            while (bits >= 8) { bytes.Add((byte)acc); acc >>= 8; bits -= 8; }
        }
        if (bits > 0) bytes.Add((byte)acc);
        for (int i = 0; i < bytes.Count; i += 255)
        {
            int n = Math.Min(255, bytes.Count - i);
            o.Add((byte)n);
            o.AddRange(bytes.GetRange(i, n));
        }
        o.AddRange([0, 0x3B]);
        return o.ToArray();
    }

    public static IEnumerable<object[]> Formats() => new[] { "png", "webp", "jpeg", "bmp", "gif" }.Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(Formats))]
    public void Each_format_decodes_to_the_picture_it_holds(string format)
    {
        var rgba = TestRgba();
        var file = format switch
        {
            "png" => SkiaEncode(rgba, W, H, p => p.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))),
            "webp" => SkiaEncode(rgba, W, H, p => p.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))),
            "jpeg" => SkiaEncode(rgba, W, H, p => p.Encode(new SKJpegEncoderOptions(95))),
            "bmp" => Bmp(rgba, W, H),
            _ => Gif(W, H),
        };
        var image = ImageDecoder.Decode(file, "test." + format);
        Assert.Equal((W, H, 4), (image.Width, image.Height, image.Channels));
        // Lossless formats give the pixels back; JPEG (4:2:0 chroma) is near them away from the quadrant edges.
        int tolerance = format == "jpeg" ? 40 : 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                if (format == "jpeg" && (Math.Abs(x - W / 2) < 2 || Math.Abs(y - H / 2) < 2)) continue;
                for (int c = 0; c < 4; c++)
                    Assert.InRange(image.Pixels[(y * W + x) * 4 + c], rgba[(y * W + x) * 4 + c] - tolerance, rgba[(y * W + x) * 4 + c] + tolerance);
            }
    }

    [Fact]
    public void Every_fixture_photo_decodes_to_a_real_picture()
    {
        var files = Directory.GetFiles(Path.Combine(Fixtures.Root, "images")).Where(f => f.EndsWith(".jpg") || f.EndsWith(".png")).ToArray();
        Assert.True(files.Count(f => f.EndsWith(".jpg")) >= 5);
        foreach (var path in files)
        {
            var image = ImageDecoder.Read(path);
            Assert.True(image.Width >= 32 && image.Height >= 32, Path.GetFileName(path));
            image.Validate();
            // Not flat, not black: a photo has many distinct values in every channel.
            for (int c = 0; c < Math.Min(3, image.Channels); c++)
            {
                var values = new HashSet<byte>();
                for (int i = c; i < image.Pixels.Length; i += image.Channels) values.Add(image.Pixels[i]);
                Assert.True(values.Count > 64, $"{Path.GetFileName(path)} channel {c}: {values.Count} values");
            }
        }
    }

    [Fact]
    public void The_jpeg_size_matches_its_frame_header()
    {
        var path = Path.Combine(Fixtures.Root, "images", "cat.jpg");
        var bytes = File.ReadAllBytes(path);
        // SOF0/SOF2 marker: FF C0|C2, length, precision, height, width.
        int i = 2;
        while (!(bytes[i] == 0xFF && bytes[i + 1] is 0xC0 or 0xC1 or 0xC2)) i += 2 + BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(i + 2));
        int h = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(i + 5)), w = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(i + 7));
        var image = ImageDecoder.Read(path);
        Assert.Equal((w, h), (image.Width, image.Height));
    }

    // Expected values decoded independently at development time (python3 zlib + a hand-written unfilter).
    [Theory]
    [InlineData("mnist_test_00_label7.png", 18454, 116, 60, new[] { 16, 59, 17, 249, 18, 254, 19, 62 })]
    [InlineData("mnist_test_03_label0.png", 37014, 193, 110, new[] { 7, 37, 8, 253, 9, 253, 18, 32, 19, 202, 20, 255, 21, 253, 22, 164 })]
    public void A_grey_png_stays_one_channel_with_its_values(string file, int sum, int nonZero, int pixel7_10, int[] row14NonZero)
    {
        var img = ImageDecoder.Read(Fixtures.Path_("inputs", "mnist-png", file));
        Assert.Equal((28, 28, 1), (img.Width, img.Height, img.Channels));
        Assert.Equal(sum, img.Pixels.Sum(b => (int)b));
        Assert.Equal(nonZero, img.Pixels.Count(b => b != 0));
        Assert.Equal(pixel7_10, img.Pixels[7 * 28 + 10]);
        var expected = new int[28];
        for (int i = 0; i < row14NonZero.Length; i += 2) expected[row14NonZero[i]] = row14NonZero[i + 1];
        Assert.Equal(expected, img.Pixels.AsSpan(14 * 28, 28).ToArray().Select(b => (int)b));
    }

    // Made with python3 (zlib + struct) at development time: 5×3, 2-bit palette of 4, tRNS [255, 128], index (x + y) % 4.
    const string Palette2Bit = "iVBORw0KGgoAAAANSUhEUgAAAAUAAAADAgMAAAAmWC1rAAAADFBMVEX/AAAA/wAAAP8KFB4iiCkEAAAAAnRSTlP/gAgPs2oAAAARSURBVHicY5BmYMhxYNjYAAAF3wH5oQmxeQAAAABJRU5ErkJggg==";
    // 4×3 RGB8, rows filtered Average, Paeth, Sub by the python encoder: (x·40 + y, 200 − x·30, y·70).
    const string RgbFiltered = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAJUlEQVR4nGNmOMGg4cZgY84QoMHAwsjgxsjAAEVMJ3o0HjFAEABtKAboKNi9KgAAAABJRU5ErkJggg==";
    // 2×2 grey, Adam7-interlaced (all zero), and 2×1 16-bit grey: the hand-written reader refused both.
    const string Interlaced = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAAEg2mJuAAAAC0lEQVR4nGNgAAEAAAYAAf6MZ8gAAAAASUVORK5CYII=";
    const string Gray16 = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAAAAACB2fwVAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=";

    [Fact]
    public void Pngs_from_another_encoder_decode_palette_transparency_and_every_filter()
    {
        var img = ImageDecoder.Decode(Convert.FromBase64String(Palette2Bit), "palette.png");
        Assert.Equal((5, 3, 4), (img.Width, img.Height, img.Channels));
        var palette = new[] { new Rgba(255, 0, 0, 255), new Rgba(0, 255, 0, 128), new Rgba(0, 0, 255), new Rgba(10, 20, 30) };
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
            {
                var p = img.Pixels.AsSpan((y * 5 + x) * 4, 4);
                Assert.Equal(palette[(x + y) % 4], new Rgba(p[0], p[1], p[2], p[3]));
            }
        img = ImageDecoder.Decode(Convert.FromBase64String(RgbFiltered), "filtered.png");
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
            {
                int o = (y * 4 + x) * 4;
                Assert.Equal(((byte)(x * 40 + y), (byte)(200 - x * 30), (byte)(y * 70), (byte)255), (img.Pixels[o], img.Pixels[o + 1], img.Pixels[o + 2], img.Pixels[o + 3]));
            }
        Assert.Equal((2, 2), (ImageDecoder.Decode(Convert.FromBase64String(Interlaced), "i.png").Width, 2));
        Assert.Equal(2, ImageDecoder.Decode(Convert.FromBase64String(Gray16), "g16.png").Width);
    }

    [Fact]
    public void The_exif_orientation_of_a_photo_is_applied()
    {
        var jpeg = SkiaEncode(TestRgba(), W, H, p => p.Encode(new SKJpegEncoderOptions(95)));
        // APP1 "Exif": little-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1, value 6 (rotate 90° clockwise).
        byte[] exif = [0xFF, 0xE1, 0, 34, (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        var rotated = jpeg[..2].Concat(exif).Concat(jpeg[2..]).ToArray();
        var image = ImageDecoder.Decode(rotated, "rotated.jpg");
        Assert.Equal((H, W), (image.Width, image.Height));
        // Turned clockwise, the stored bottom-left (colour 2) is now the top-left; the stored top-left (0) the top-right.
        Rgba At(int x, int y) { var p = image.Pixels.AsSpan((y * image.Width + x) * 4, 4); return new Rgba(p[0], p[1], p[2]); }
        static bool Near(Rgba a, Rgba b) => Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B) < 60;
        Assert.True(Near(Colours[2], At(0, 0)), At(0, 0).ToHex());
        Assert.True(Near(Colours[0], At(image.Width - 1, 0)), At(image.Width - 1, 0).ToHex());
        Assert.True(Near(Colours[1], At(image.Width - 1, image.Height - 1)));
    }

    [Fact]
    public void Files_that_are_not_pictures_fail_with_what_they_are()
    {
        Assert.Contains("empty", Assert.Throws<VisionException>(() => ImageDecoder.Decode([], "x.png")).Message);
        Assert.Contains("PDF", Assert.Throws<VisionException>(() => ImageDecoder.Decode("%PDF-1.7 ..."u8, "paper.jpg")).Message);
        var e = Assert.Throws<VisionException>(() => ImageDecoder.Decode("hello, world"u8, "notes.png"));
        Assert.Contains("notes.png", e.Message);
        Assert.Contains("PNG, JPEG, GIF, WebP or BMP", e.Message);
        Assert.Contains("no such image file", Assert.Throws<VisionException>(() => ImageDecoder.Read("/nonexistent/cat.jpg")).Message);
    }

    [Fact]
    public void An_mnist_digit_as_jpeg_quality_95_gives_lenet_the_same_digit_as_its_png()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.onnx"));
        var pre = new Preprocessing(1, 28, 28, [0.1307f], [0.3081f]);                  // info.txt: (img/255 − mean) / std
        foreach (var (path, label) in FixtureModelTests.MnistDigits())
        {
            var png = ImageDecoder.Read(path);
            var rgba = new byte[png.Width * png.Height * 4];
            for (int i = 0; i < png.Width * png.Height; i++) (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]) = (png.Pixels[i], png.Pixels[i], png.Pixels[i], 255);
            var jpegBytes = SkiaEncode(rgba, png.Width, png.Height, p => p.Encode(new SKJpegEncoderOptions(95)));
            Assert.Equal(0xD8, jpegBytes[1]);
            var jpeg = ImageDecoder.Decode(jpegBytes, Path.GetFileName(path) + ".jpg");
            // Really lossy: some pixel's grey level differs from the PNG's.
            Assert.Contains(Enumerable.Range(0, png.Pixels.Length), i => jpeg.Pixels[i * jpeg.Channels] != png.Pixels[i]);
            var fromPng = model.Run(png, pre);
            var fromJpeg = model.Run(jpeg, pre);
            Assert.Equal(label, fromPng.PredictedClass);
            Assert.Equal(fromPng.PredictedClass, fromJpeg.PredictedClass);
        }
    }

    [Fact]
    public void Ultraface_runs_on_every_fixture_jpeg()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("ultraface-rfb320"), "version-RFB-320.onnx"));
        var pre = new Preprocessing(3, 240, 320, [127f], [128f], PixelScale: 1f);   // PROVENANCE: (rgb − 127) / 128
        foreach (var path in Directory.GetFiles(Path.Combine(Fixtures.Root, "images"), "*.jpg"))
        {
            var run = model.Run(ImageDecoder.Read(path), pre);
            var scores = run.Outputs["scores"].Floats;
            Assert.Equal(4420 * 2, scores.Length);
            Assert.All(run.Outputs["boxes"].Floats, v => Assert.True(float.IsFinite(v), Path.GetFileName(path)));
            // The model's input is the photo (not a flat fill): the preprocessed RGB varies.
            Assert.True(run.Input.Floats.Max() - run.Input.Floats.Min() > 1f, Path.GetFileName(path));
        }
    }
}
