using System.Globalization;
using System.Runtime.InteropServices;

namespace ModelVis.Render;

/// <summary>
/// A lookup table from [0, 1] to colours, plus the colour for NaN ("bad"). Sequential maps (viridis,
/// magma, gray) have 256 entries; the diverging map (rdbu: blue – white – red, matplotlib's RdBu_r) has
/// 255 so that 0.5 — zero under a symmetric range — lands exactly on its white centre.
/// </summary>
public sealed class Colormap
{
    readonly uint[] _lut;
    readonly uint[] _levels;   // what values are drawn with: Levels entries resampled from the table

    public string Name { get; }
    public bool IsDiverging { get; }
    /// <summary>Colour for NaN: chosen to appear nowhere in the map.</summary>
    public Rgba Bad { get; }
    public int Size => _lut.Length;

    Colormap(string name, uint[] lut, bool diverging, Rgba bad)
    {
        Name = name; _lut = lut; IsDiverging = diverging; Bad = bad;
        // 254 levels (253, odd, for diverging maps so zero keeps the white centre): with NaN and a background
        // colour every heatmap fits a 256-entry PNG palette. The eye cannot tell 254 steps from 256.
        int levels = Math.Min(lut.Length, diverging ? 253 : 254);
        _levels = new uint[levels];
        for (int k = 0; k < levels; k++) _levels[k] = lut[(int)Math.Round(k * (lut.Length - 1) / (double)(levels - 1))];
    }

    /// <summary>Number of distinct colours values are drawn with (the ends of the table included).</summary>
    public int Levels => _levels.Length;

    public Rgba this[int index] => Rgba.FromPacked(_lut[index]);

    /// <summary>Colour at position <paramref name="t"/> in [0, 1] (clamped); NaN gives <see cref="Bad"/>.</summary>
    public Rgba Map(float t) => Rgba.FromPacked(MapPacked(t));

    public Rgba Map(float value, float low, float high) => Rgba.FromPacked(MapPacked(Normalize(value, low, high)));

    internal uint MapPacked(float t)
    {
        if (float.IsNaN(t)) return Bad.Packed;
        int last = _levels.Length - 1;
        float f = t * last + 0.5f;
        int i = f <= 0 ? 0 : f >= last ? last : (int)f;
        return _levels[i];
    }

    static float Normalize(float v, float low, float high)
    {
        float span = high - low;
        return span > 0 && float.IsFinite(span) ? (v - low) / span : float.IsNaN(v) ? float.NaN : v < low ? 0f : v > high ? 1f : 0.5f;
    }

    /// <summary>Maps each value (low → first colour, high → last, outside clamped, ±Inf to the ends, NaN → Bad)
    /// into packed RGBA8 pixels (see <see cref="RgbaImage.PackedPixels"/>).</summary>
    public void Apply(ReadOnlySpan<float> values, float low, float high, Span<uint> destination)
    {
        if (destination.Length < values.Length) throw new ArgumentException("destination is shorter than values");
        float span = high - low;
        int last = _levels.Length - 1;
        uint bad = Bad.Packed;
        var lut = _levels;
        if (!(span > 0) || !float.IsFinite(span))
        {
            for (int i = 0; i < values.Length; i++) destination[i] = MapPacked(Normalize(values[i], low, high));
            return;
        }
        float k = last / span, b = 0.5f - low * k;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            float f = v * k + b;
            // NaN fails both comparisons; clamp covers ±Inf.
            destination[i] = f >= 0 ? (f < last ? lut[(int)f] : lut[last]) : (f < 0 ? lut[0] : bad);
        }
    }

    public static Colormap Viridis { get; } = FromHex("viridis", ColormapData.Viridis, false, new Rgba(255, 0, 255));
    public static Colormap Magma { get; } = FromHex("magma", ColormapData.Magma, false, new Rgba(0, 200, 0));
    public static Colormap Gray { get; } = BuildGray();
    /// <summary>Diverging blue (negative) – white (zero) – red (positive), as matplotlib's RdBu_r.</summary>
    public static Colormap RdBu { get; } = BuildDiverging("rdbu", ColormapData.RdBuReversedAnchors, 255, new Rgba(0, 200, 0));

    public static IReadOnlyList<string> Names { get; } = ["rdbu", "viridis", "magma", "gray"];

    /// <summary>By name, case-insensitive: rdbu (alias rdbu_r, diverging), viridis, magma, gray (grey).</summary>
    public static Colormap Get(string name) => name.ToLowerInvariant() switch
    {
        "rdbu" or "rdbu_r" or "diverging" => RdBu,
        "viridis" => Viridis,
        "magma" => Magma,
        "gray" or "grey" or "greys" => Gray,
        _ => throw new ArgumentException($"unknown colormap `{name}` (known: {string.Join(", ", Names)})"),
    };

    static Colormap FromHex(string name, string hex, bool diverging, Rgba bad)
    {
        var lut = new uint[hex.Length / 6];
        for (int i = 0; i < lut.Length; i++)
        {
            byte P(int o) => byte.Parse(hex.AsSpan(6 * i + o, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            lut[i] = new Rgba(P(0), P(2), P(4)).Packed;
        }
        return new Colormap(name, lut, diverging, bad);
    }

    static Colormap BuildGray()
    {
        var lut = new uint[256];
        for (int i = 0; i < 256; i++) lut[i] = new Rgba((byte)i, (byte)i, (byte)i).Packed;
        return new Colormap("gray", lut, false, new Rgba(255, 0, 255));
    }

    /// <summary>Piecewise-linear interpolation between evenly spaced anchor colours (as matplotlib's LinearSegmentedColormap).</summary>
    static Colormap BuildDiverging(string name, string[] anchors, int size, Rgba bad)
    {
        var colours = anchors.Select(Rgba.FromHex).ToArray();
        var lut = new uint[size];
        int segments = colours.Length - 1;
        for (int i = 0; i < size; i++)
        {
            double t = (double)i / (size - 1) * segments;
            int s = Math.Min((int)t, segments - 1);
            double f = t - s;
            var a = colours[s];
            var c = colours[s + 1];
            byte L(byte x, byte y) => (byte)Math.Round(x + (y - x) * f);
            lut[i] = new Rgba(L(a.R, c.R), L(a.G, c.G), L(a.B, c.B)).Packed;
        }
        return new Colormap(name, lut, true, bad);
    }

    /// <summary>The table as packed pixels (for tests and legends).</summary>
    public ReadOnlySpan<uint> Table => _lut;
}
