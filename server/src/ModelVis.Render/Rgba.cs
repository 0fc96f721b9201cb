using System.Globalization;

namespace ModelVis.Render;

/// <summary>An 8-bit sRGB colour with straight (not premultiplied) alpha.</summary>
public readonly record struct Rgba(byte R, byte G, byte B, byte A = 255)
{
    public static Rgba Transparent => new(0, 0, 0, 0);
    public static Rgba Black => new(0, 0, 0);
    public static Rgba White => new(255, 255, 255);

    /// <summary>Parses "#rrggbb" or "#rrggbbaa" (the '#' is optional).</summary>
    public static Rgba FromHex(string hex)
    {
        var s = hex.TrimStart('#');
        if (s.Length is not (6 or 8)) throw new FormatException($"colour `{hex}` is not #rrggbb or #rrggbbaa");
        byte P(int i) => byte.Parse(s.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return new Rgba(P(0), P(2), P(4), s.Length == 8 ? P(6) : (byte)255);
    }

    public string ToHex() => A == 255 ? $"#{R:x2}{G:x2}{B:x2}" : $"#{R:x2}{G:x2}{B:x2}{A:x2}";

    /// <summary>Packed as it lies in memory in an RGBA8 buffer on a little-endian machine.</summary>
    public uint Packed => (uint)(R | (G << 8) | (B << 16) | (A << 24));

    public static Rgba FromPacked(uint p) => new((byte)p, (byte)(p >> 8), (byte)(p >> 16), (byte)(p >> 24));

    public override string ToString() => ToHex();
}

/// <summary>A width × height RGBA8 raster, rows top to bottom, 4 bytes a pixel.</summary>
public sealed class RgbaImage
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>RGBA8, row-major, stride = 4 × Width.</summary>
    public byte[] Pixels { get; }

    public RgbaImage(int width, int height, Rgba fill = default)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}×{height} must be positive");
        if ((long)width * height * 4 > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(width), $"image {width}×{height} is too large");
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 4];
        if (fill.Packed != 0) Fill(fill);
    }

    public RgbaImage(int width, int height, byte[] pixels)
    {
        if (pixels.Length != (long)width * height * 4) throw new ArgumentException($"expected {width * height * 4} bytes for {width}×{height} RGBA, got {pixels.Length}");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Stride => Width * 4;

    public Span<uint> PackedPixels => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(Pixels.AsSpan());

    public Span<byte> Row(int y) => Pixels.AsSpan(y * Stride, Stride);

    public Rgba this[int x, int y]
    {
        get
        {
            int i = (y * Width + x) * 4;
            return new Rgba(Pixels[i], Pixels[i + 1], Pixels[i + 2], Pixels[i + 3]);
        }
        set
        {
            int i = (y * Width + x) * 4;
            Pixels[i] = value.R; Pixels[i + 1] = value.G; Pixels[i + 2] = value.B; Pixels[i + 3] = value.A;
        }
    }

    public void Fill(Rgba colour) => PackedPixels.Fill(colour.Packed);

    public void FillRect(int x, int y, int w, int h, Rgba colour)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(Width, x + w), y1 = Math.Min(Height, y + h);
        if (x1 <= x0) return;
        var px = PackedPixels;
        for (int r = y0; r < y1; r++) px.Slice(r * Width + x0, x1 - x0).Fill(colour.Packed);
    }

    /// <summary>Copies <paramref name="source"/> with its top-left corner at (x, y), clipped to this image (no blending).</summary>
    public void Blit(RgbaImage source, int x, int y)
    {
        int sx0 = Math.Max(0, -x), sy0 = Math.Max(0, -y);
        int w = Math.Min(source.Width, Width - x) - sx0, h = Math.Min(source.Height, Height - y) - sy0;
        if (w <= 0 || h <= 0) return;
        var src = source.PackedPixels;
        var dst = PackedPixels;
        for (int r = 0; r < h; r++)
            src.Slice((sy0 + r) * source.Width + sx0, w).CopyTo(dst.Slice((y + sy0 + r) * Width + x + sx0, w));
    }

    /// <summary>Nearest-neighbour enlargement by integer factors.</summary>
    public RgbaImage Scale(int sx, int sy)
    {
        if (sx < 1 || sy < 1) throw new ArgumentOutOfRangeException(nameof(sx));
        if (sx == 1 && sy == 1) return this;
        var result = new RgbaImage(checked(Width * sx), checked(Height * sy));
        var src = PackedPixels;
        var dst = result.PackedPixels;
        for (int y = 0; y < Height; y++)
        {
            var outRow = dst.Slice(y * sy * result.Width, result.Width);
            var inRow = src.Slice(y * Width, Width);
            for (int x = 0; x < Width; x++) outRow.Slice(x * sx, sx).Fill(inRow[x]);
            for (int k = 1; k < sy; k++) outRow.CopyTo(dst.Slice((y * sy + k) * result.Width, result.Width));
        }
        return result;
    }

    /// <summary>True when every pixel has alpha 255.</summary>
    public bool IsOpaque()
    {
        foreach (var p in PackedPixels) if ((p >> 24) != 255) return false;
        return true;
    }

    /// <summary>Encodes as PNG: RGBA8, or RGB8 when every pixel is opaque and <paramref name="dropOpaqueAlpha"/>.</summary>
    public byte[] ToPng(PngEncodeOptions? options = null, bool dropOpaqueAlpha = false) =>
        PngWriter.Encode(this, options, dropOpaqueAlpha);

    public void Save(string path, PngEncodeOptions? options = null) => File.WriteAllBytes(path, ToPng(options));
}
