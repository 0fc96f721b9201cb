namespace ModelVis.Vision.Images;

/// <summary>
/// A decoded 8-bit image, interleaved row-major: 1 channel (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
/// <see cref="ImageDecoder"/> makes one from a picture file.
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
}
