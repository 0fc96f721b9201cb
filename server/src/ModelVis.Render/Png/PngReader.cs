using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ModelVis.Render;

/// <summary>A decoded PNG: 8-bit samples, palette already expanded (to RGB, or RGBA where tRNS gives alpha).</summary>
public sealed class PngImage
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>The colour type stored in the file.</summary>
    public PngColorType SourceColorType { get; }
    /// <summary>The layout of <see cref="Pixels"/>: Gray8, GrayAlpha8, Rgb8 or Rgba8.</summary>
    public PngColorType ColorType { get; }
    public byte[] Pixels { get; }
    public int Channels => ColorType.Channels();

    internal PngImage(int width, int height, PngColorType source, PngColorType layout, byte[] pixels)
    {
        Width = width; Height = height; SourceColorType = source; ColorType = layout; Pixels = pixels;
    }

    public RgbaImage ToRgba()
    {
        var result = new RgbaImage(Width, Height);
        var d = result.Pixels;
        var s = Pixels;
        int n = Width * Height;
        switch (ColorType)
        {
            case PngColorType.Rgba8: s.CopyTo(d, 0); break;
            case PngColorType.Rgb8:
                for (int i = 0; i < n; i++) { d[4 * i] = s[3 * i]; d[4 * i + 1] = s[3 * i + 1]; d[4 * i + 2] = s[3 * i + 2]; d[4 * i + 3] = 255; }
                break;
            case PngColorType.GrayAlpha8:
                for (int i = 0; i < n; i++) { d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = s[2 * i]; d[4 * i + 3] = s[2 * i + 1]; }
                break;
            default:
                for (int i = 0; i < n; i++) { d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = s[i]; d[4 * i + 3] = 255; }
                break;
        }
        return result;
    }

    /// <summary>Luma in [0, 1] per pixel (Rec. 601 weights for colour; alpha ignored), rows top to bottom.</summary>
    public float[] ToGrayFloats()
    {
        int n = Width * Height, c = Channels;
        var result = new float[n];
        var s = Pixels;
        for (int i = 0; i < n; i++)
            result[i] = c <= 2 ? s[i * c] / 255f
                : (0.299f * s[i * c] + 0.587f * s[i * c + 1] + 0.114f * s[i * c + 2]) / 255f;
        return result;
    }
}

/// <summary>PNG decoder: 8-bit Gray, Gray+Alpha, RGB, RGBA and palette (1/2/4/8-bit indices), non-interlaced,
/// all five filters. Anything else fails with a <see cref="PngFormatException"/> that says what was found.</summary>
public static class PngReader
{
    public static PngImage Read(string path)
    {
        try { return Decode(File.ReadAllBytes(path)); }
        catch (PngFormatException e) { throw new PngFormatException($"{Path.GetFileName(path)}: {e.Message}"); }
    }

    public static PngImage Read(Stream stream)
    {
        var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Decode(ms.GetBuffer().AsSpan(0, (int)ms.Length));
    }

    public static PngImage Decode(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8 || !file[..8].SequenceEqual(PngWriter.Signature))
            throw new PngFormatException("not a PNG file (bad signature)");
        int pos = 8;
        int width = 0, height = 0, bitDepth = 0;
        PngColorType type = 0;
        bool sawHeader = false, sawEnd = false;
        byte[]? palette = null, trns = null;
        var idat = new MemoryStream();
        while (pos < file.Length && !sawEnd)
        {
            if (pos + 12 > file.Length) throw new PngFormatException($"truncated chunk header at byte {pos}");
            uint len = BinaryPrimitives.ReadUInt32BigEndian(file[pos..]);
            if (len > int.MaxValue || pos + 12 + (long)len > file.Length) throw new PngFormatException($"chunk at byte {pos} runs past the end of the file");
            var ctype = file.Slice(pos + 4, 4);
            var data = file.Slice(pos + 8, (int)len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file[(pos + 8 + (int)len)..]);
            string name = Encoding.ASCII.GetString(ctype);
            if (Crc32.Append(Crc32.Compute(ctype), data) != crc) throw new PngFormatException($"CRC mismatch in {name} chunk at byte {pos}");
            pos += 12 + (int)len;
            if (!sawHeader && name != "IHDR") throw new PngFormatException($"first chunk is {name}, not IHDR");
            switch (name)
            {
                case "IHDR":
                    if (len != 13) throw new PngFormatException("IHDR chunk is not 13 bytes");
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    bitDepth = data[8];
                    type = (PngColorType)data[9];
                    if (width <= 0 || height <= 0) throw new PngFormatException($"invalid size {width}×{height}");
                    if (data[10] != 0 || data[11] != 0) throw new PngFormatException("unknown compression or filter method");
                    if (data[12] != 0) throw new PngFormatException("interlaced (Adam7) PNGs are not supported; save it non-interlaced");
                    if (type is not (PngColorType.Gray8 or PngColorType.Rgb8 or PngColorType.Palette8 or PngColorType.GrayAlpha8 or PngColorType.Rgba8))
                        throw new PngFormatException($"unknown colour type {(int)type}");
                    bool ok = type == PngColorType.Palette8 ? bitDepth is 1 or 2 or 4 or 8 : bitDepth == 8;
                    if (!ok) throw new PngFormatException($"{bitDepth}-bit {type} PNGs are not supported (8-bit gray, RGB, RGBA and palette are)");
                    sawHeader = true;
                    break;
                case "PLTE": palette = data.ToArray(); break;
                case "tRNS": trns = data.ToArray(); break;
                case "IDAT": idat.Write(data); break;
                case "IEND": sawEnd = true; break;
                default:
                    if ((ctype[0] & 0x20) == 0) throw new PngFormatException($"unknown critical chunk {name}");
                    break;
            }
        }
        if (!sawHeader) throw new PngFormatException("no IHDR chunk");
        if (idat.Length == 0) throw new PngFormatException("no image data (IDAT)");
        if (type == PngColorType.Palette8 && palette is null) throw new PngFormatException("palette image without a PLTE chunk");

        int samples = type.Channels();
        int bitsPerPixel = samples * bitDepth;
        int bpp = Math.Max(1, bitsPerPixel / 8);
        long strideL = ((long)width * bitsPerPixel + 7) / 8;
        if (strideL * height > Array.MaxLength) throw new PngFormatException($"image {width}×{height} is too large");
        int stride = (int)strideL;
        var raw = new byte[stride * height];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            var zeros = new byte[stride];
            Span<byte> filterByte = stackalloc byte[1];
            for (int y = 0; y < height; y++)
            {
                if (ReadFully(z, filterByte) != 1) throw new PngFormatException($"image data ends at row {y} of {height}");
                var row = raw.AsSpan(y * stride, stride);
                if (ReadFully(z, row) != stride) throw new PngFormatException($"image data ends inside row {y} of {height}");
                if (filterByte[0] > 4) throw new PngFormatException($"unknown filter type {filterByte[0]} on row {y}");
                ReadOnlySpan<byte> prev = y == 0 ? zeros : raw.AsSpan((y - 1) * stride, stride);
                PngFilters.Unfilter(filterByte[0], row, prev, bpp);
            }
        }
        catch (InvalidDataException e)
        {
            throw new PngFormatException($"corrupt compressed image data: {e.Message}");
        }

        if (type != PngColorType.Palette8)
            return new PngImage(width, height, type, type, raw);
        return ExpandPalette(raw, width, height, stride, bitDepth, palette!, trns);
    }

    static PngImage ExpandPalette(byte[] raw, int width, int height, int stride, int bitDepth, byte[] palette, byte[]? trns)
    {
        int entries = palette.Length / 3;
        bool alpha = trns is { Length: > 0 };
        int c = alpha ? 4 : 3;
        var px = new byte[width * height * c];
        int perByte = 8 / bitDepth, mask = (1 << bitDepth) - 1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int b = raw[y * stride + x / perByte];
                int shift = 8 - bitDepth * (x % perByte + 1);
                int idx = (b >> shift) & mask;
                if (idx >= entries) throw new PngFormatException($"palette index {idx} at ({x}, {y}) outside a {entries}-entry palette");
                int o = (y * width + x) * c;
                px[o] = palette[3 * idx]; px[o + 1] = palette[3 * idx + 1]; px[o + 2] = palette[3 * idx + 2];
                if (alpha) px[o + 3] = idx < trns!.Length ? trns[idx] : (byte)255;
            }
        return new PngImage(width, height, PngColorType.Palette8, alpha ? PngColorType.Rgba8 : PngColorType.Rgb8, px);
    }

    static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
