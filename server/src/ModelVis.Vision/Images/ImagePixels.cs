namespace ModelVis.Vision.Images;

/// <summary>
/// A decoded 8-bit image, interleaved row-major: 1 channel (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
/// Decoding is someone else's job (the host's PNG reader, or the extension's canvas for JPEG/GIF/WebP/BMP).
/// </summary>
public sealed record ImagePixels(int Width, int Height, int Channels, byte[] Pixels)
{
    public void Validate()
    {
        if (Width <= 0 || Height <= 0) throw new VisionException($"image of {Width}×{Height} pixels is empty");
        if (Channels is < 1 or > 4) throw new VisionException($"image with {Channels} channels (1 to 4 are supported)");
        if (Pixels.Length != (long)Width * Height * Channels)
            throw new VisionException($"image of {Width}×{Height}×{Channels} needs {(long)Width * Height * Channels} bytes, got {Pixels.Length}");
    }

    /// <summary>Refuses files the host cannot decode, with what to do instead.</summary>
    public static void CheckIsPng(string path, ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (head.Length >= 8 && head[..8].SequenceEqual(png)) return;
        string kind = head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF ? "a JPEG"
            : head.Length >= 6 && head[..3].SequenceEqual("GIF"u8) ? "a GIF"
            : head.Length >= 12 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8) ? "a WebP"
            : head.Length >= 2 && head[0] == (byte)'B' && head[1] == (byte)'M' ? "a BMP"
            : "not a PNG";
        throw new VisionException($"{Path.GetFileName(path)} is {kind} image: the host reads PNG only. Open it from the extension (which decodes JPEG, GIF, WebP and BMP in the webview) or convert it to PNG first.");
    }
}
