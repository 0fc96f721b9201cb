using System.IO.Compression;

namespace ModelVis.Render;

/// <summary>PNG colour types (all 8 bits a sample here).</summary>
public enum PngColorType : byte
{
    Gray8 = 0,
    Rgb8 = 2,
    Palette8 = 3,
    GrayAlpha8 = 4,
    Rgba8 = 6,
}

/// <summary>The five PNG row filters, plus <see cref="Adaptive"/>: per row, the one whose output has the
/// smallest sum of absolute values (as signed bytes), the heuristic the PNG specification recommends.</summary>
public enum PngFilterMode
{
    None = 0,
    Sub = 1,
    Up = 2,
    Average = 3,
    Paeth = 4,
    Adaptive = 5,
}

public sealed record PngEncodeOptions
{
    public PngFilterMode Filter { get; init; } = PngFilterMode.Adaptive;
    /// <summary>zlib level. <see cref="CompressionLevel.Fastest"/> is several times faster than Optimal and
    /// costs little size on filtered heatmaps.</summary>
    public CompressionLevel Compression { get; init; } = CompressionLevel.Fastest;

    public static PngEncodeOptions Default { get; } = new();
}

public sealed class PngFormatException(string message) : Exception(message);

public static class PngColorTypeExtensions
{
    public static int Channels(this PngColorType t) => t switch
    {
        PngColorType.Gray8 or PngColorType.Palette8 => 1,
        PngColorType.GrayAlpha8 => 2,
        PngColorType.Rgb8 => 3,
        PngColorType.Rgba8 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };
}
