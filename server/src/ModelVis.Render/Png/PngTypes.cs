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
    /// <summary>zlib level. Optimal (zlib 6) is the default: on palette heatmaps it is as fast as Fastest and
    /// half the size (measured on 1024² maps: 15–35 ms).</summary>
    public CompressionLevel Compression { get; init; } = CompressionLevel.Optimal;

    /// <summary>Encode an <see cref="RgbaImage"/> with at most 256 distinct colours (every heatmap) as an
    /// 8-bit palette PNG: a quarter of the data, smaller and several times faster.</summary>
    public bool Palette { get; init; } = true;
    /// <summary>Row filter for palette images when <see cref="Filter"/> is Adaptive (the PNG specification
    /// recommends None: indices are not magnitudes).</summary>
    public PngFilterMode PaletteFilter { get; init; } = PngFilterMode.None;

    public static PngEncodeOptions Default { get; } = new();
}

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
