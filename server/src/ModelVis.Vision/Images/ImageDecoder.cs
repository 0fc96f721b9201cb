using SkiaSharp;

namespace ModelVis.Vision.Images;

/// <summary>
/// Decodes a picture file (PNG, JPEG, GIF, WebP, BMP; the first frame of an animation) with SkiaSharp into 8-bit
/// pixels: grey files stay one channel, everything else becomes RGBA with straight alpha. No colour management
/// (pixel values as stored, as PIL reads them); the EXIF orientation of a photo is applied, as a browser shows it.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Largest picture decoded (64 Mpixel): a guard against a small file that unpacks to gigabytes.</summary>
    public const long MaxPixels = 64L << 20;

    public static ImagePixels Read(string path)
    {
        if (!File.Exists(path)) throw new VisionException($"{path}: no such image file");
        return Decode(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <param name="name">How the picture is called in error messages (a file name).</param>
    public static ImagePixels Decode(ReadOnlySpan<byte> bytes, string name)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new VisionException($"{name} is not a picture the host can read (PNG, JPEG, GIF, WebP or BMP){Sniff(bytes)}");
        var info = codec.Info;
        if ((long)info.Width * info.Height > MaxPixels)
            throw new VisionException($"{name}: {info.Width}×{info.Height} pixels is too large (at most {MaxPixels >> 20} Mpixel)");
        bool grey = info.ColorType == SKColorType.Gray8;
        int channels = grey ? 1 : 4;
        var target = new SKImageInfo(info.Width, info.Height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888,
            grey ? SKAlphaType.Opaque : SKAlphaType.Unpremul);  // no colour space: no conversion
        var pixels = new byte[(long)info.Width * info.Height * channels];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = pixels) result = codec.GetPixels(target, (IntPtr)p);
        }
        // A truncated file still yields its decoded rows (the rest stays zero), as browsers show it.
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput))
            throw new VisionException($"{name}: the {codec.EncodedFormat} image could not be decoded ({result})");
        var image = new ImagePixels(info.Width, info.Height, channels, pixels);
        return Orient(image, codec.EncodedOrigin);
    }

    /// <summary>A hint when the bytes are not an image at all: a few formats people try by mistake.</summary>
    static string Sniff(ReadOnlySpan<byte> b) =>
        b.Length == 0 ? ": the file is empty"
        : b.Length >= 4 && b[..4].SequenceEqual("%PDF"u8) ? ": it is a PDF"
        : b.Length >= 5 && (b[..5].SequenceEqual("<?xml"u8) || b[..4].SequenceEqual("<svg"u8)) ? ": SVG (vector) pictures are not supported"
        : "";

    /// <summary>Turns the stored pixels upright as the EXIF orientation says (rotations and mirrors).</summary>
    static ImagePixels Orient(ImagePixels img, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0) return img;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int w = img.Width, h = img.Height, c = img.Channels;
        int ow = swap ? h : w, oh = swap ? w : h;
        var dst = new byte[img.Pixels.Length];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                // (sx, sy): the stored pixel shown at (x, y).
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                img.Pixels.AsSpan((sy * w + sx) * c, c).CopyTo(dst.AsSpan((y * ow + x) * c, c));
            }
        return new ImagePixels(ow, oh, c, dst);
    }
}
