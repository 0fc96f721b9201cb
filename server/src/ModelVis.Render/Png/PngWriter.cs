using System.Buffers.Binary;
using System.IO.Compression;

namespace ModelVis.Render;

/// <summary>PNG encoder for 8-bit Gray, RGB and RGBA rasters (non-interlaced).</summary>
public static class PngWriter
{
    internal static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] Encode(RgbaImage image, PngEncodeOptions? options = null, bool dropOpaqueAlpha = false)
    {
        options ??= PngEncodeOptions.Default;
        if (options.Palette && TryIndex(image, out var indices, out var palette))
        {
            var ms = new MemoryStream();
            WriteIndexed(ms, indices, image.Width, image.Height, palette, options);
            return ms.ToArray();
        }
        if (dropOpaqueAlpha && image.IsOpaque())
        {
            var rgb = new byte[image.Width * image.Height * 3];
            var src = image.Pixels;
            for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
            {
                rgb[j] = src[i]; rgb[j + 1] = src[i + 1]; rgb[j + 2] = src[i + 2];
            }
            return Encode(rgb, image.Width, image.Height, PngColorType.Rgb8, options);
        }
        return Encode(image.Pixels, image.Width, image.Height, PngColorType.Rgba8, options);
    }

    /// <summary>Maps an image to palette indices when it has at most 256 distinct colours (a heatmap has at
    /// most its colormap's entries plus NaN and background). One pass with a small open-addressing table.</summary>
    public static bool TryIndex(RgbaImage image, out byte[] indices, out uint[] palette)
    {
        var px = image.PackedPixels;
        var idx = new byte[px.Length];
        const int slots = 1024;                     // power of two, > 4 × 256: short probes
        var keys = new uint[slots];
        var vals = new short[slots];                // index + 1; 0 = empty
        var colours = new uint[256];
        int count = 0;
        uint last = 0;
        int lastIndex = -1;
        for (int i = 0; i < px.Length; i++)
        {
            uint c = px[i];
            if (c == last && lastIndex >= 0) { idx[i] = (byte)lastIndex; continue; }
            uint h = (c * 0x9E3779B1u) >> 22;     // top 10 bits
            while (true)
            {
                int v = vals[h];
                if (v == 0)
                {
                    if (count == 256) { indices = []; palette = []; return false; }
                    colours[count] = c;
                    keys[h] = c;
                    vals[h] = (short)(++count);
                    lastIndex = count - 1;
                    break;
                }
                if (keys[h] == c) { lastIndex = v - 1; break; }
                h = (h + 1) & (slots - 1);
            }
            last = c;
            idx[i] = (byte)lastIndex;
        }
        indices = idx;
        palette = colours[..count];
        return true;
    }

    /// <summary>Writes an 8-bit palette PNG: PLTE, and tRNS when any entry is not opaque.</summary>
    public static void WriteIndexed(Stream output, ReadOnlySpan<byte> indices, int width, int height, ReadOnlySpan<uint> palette, PngEncodeOptions? options = null)
    {
        if (palette.Length is 0 or > 256) throw new ArgumentException("a palette has 1 to 256 entries");
        var plte = new byte[palette.Length * 3];
        int lastTranslucent = -1;
        for (int i = 0; i < palette.Length; i++)
        {
            var c = Rgba.FromPacked(palette[i]);
            plte[3 * i] = c.R; plte[3 * i + 1] = c.G; plte[3 * i + 2] = c.B;
            if (c.A != 255) lastTranslucent = i;
        }
        var extra = new List<(string, byte[])> { ("PLTE", plte) };
        if (lastTranslucent >= 0)
        {
            var trns = new byte[lastTranslucent + 1];
            for (int i = 0; i <= lastTranslucent; i++) trns[i] = Rgba.FromPacked(palette[i]).A;
            extra.Add(("tRNS", trns));
        }
        WriteCore(output, indices, width, height, PngColorType.Palette8, options ?? PngEncodeOptions.Default, extra);
    }

    /// <summary>Encodes tightly packed rows of <paramref name="type"/> (Gray8, GrayAlpha8, Rgb8 or Rgba8) as a PNG file.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, PngColorType type, PngEncodeOptions? options = null)
    {
        var ms = new MemoryStream();
        Write(ms, pixels, width, height, type, options);
        return ms.ToArray();
    }

    public static void Write(Stream output, ReadOnlySpan<byte> pixels, int width, int height, PngColorType type, PngEncodeOptions? options = null)
    {
        if (type == PngColorType.Palette8) throw new ArgumentException("palette images are written with WriteIndexed");
        WriteCore(output, pixels, width, height, type, options ?? PngEncodeOptions.Default, []);
    }

    static void WriteCore(Stream output, ReadOnlySpan<byte> pixels, int width, int height, PngColorType type, PngEncodeOptions options, List<(string Name, byte[] Data)> extra)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"PNG size {width}×{height} must be positive");
        int bpp = type.Channels();
        long stride = (long)width * bpp;
        if (stride * height != pixels.Length)
            throw new ArgumentException($"expected {stride * height} bytes for {width}×{height} {type}, got {pixels.Length}");

        output.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;            // bit depth
        ihdr[9] = (byte)type;
        ihdr[10] = 0;           // deflate
        ihdr[11] = 0;           // adaptive filtering
        ihdr[12] = 0;           // no interlace
        WriteChunk(output, "IHDR"u8, ihdr);
        foreach (var (chunkName, chunkData) in extra) WriteChunk(output, System.Text.Encoding.ASCII.GetBytes(chunkName), chunkData);

        var idat = new MemoryStream(capacity: (int)Math.Min(int.MaxValue, stride * height / 4 + 1024));
        using (var z = new ZLibStream(idat, options.Compression, leaveOpen: true))
        {
            int n = (int)stride;
            var prev = new byte[n];
            var line = new byte[n + 1];
            var filter = options.Filter;
            if (filter == PngFilterMode.Adaptive && type == PngColorType.Palette8) filter = options.PaletteFilter;
            var scratch = filter == PngFilterMode.Adaptive ? new byte[n + 1] : null;
            for (int y = 0; y < height; y++)
            {
                var cur = pixels.Slice(y * n, n);
                if (scratch is null)
                {
                    int t = (int)filter;
                    line[0] = (byte)t;
                    PngFilters.Filter(t, cur, prev, bpp, line.AsSpan(1));
                }
                else
                {
                    long best = long.MaxValue;
                    for (int t = 0; t < 5; t++)
                    {
                        var target = scratch.AsSpan(1);
                        PngFilters.Filter(t, cur, prev, bpp, target);
                        long score = PngFilters.SumAbs(target);
                        if (score < best)
                        {
                            best = score;
                            scratch[0] = (byte)t;
                            (line, scratch) = (scratch, line);
                            if (score == 0) break;
                        }
                    }
                }
                z.Write(line);
                cur.CopyTo(prev);
            }
        }

        var data = idat.GetBuffer().AsSpan(0, (int)idat.Length);
        const int maxChunk = 1 << 20;
        for (int off = 0; off < data.Length; off += maxChunk)
            WriteChunk(output, "IDAT"u8, data.Slice(off, Math.Min(maxChunk, data.Length - off)));
        if (data.Length == 0) WriteChunk(output, "IDAT"u8, []);
        WriteChunk(output, "IEND"u8, []);
    }

    internal static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(data);
        uint crc = Crc32.Append(Crc32.Compute(type), data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }
}
