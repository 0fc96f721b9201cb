using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

[assembly: InternalsVisibleTo("ModelVis.Runs.Tests")]

namespace ModelVis.Runs;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as TFRecord uses it, and TensorFlow's mask over it
/// (a CRC of data that itself holds CRCs is weak, so the stored value is rotated and offset).
/// </summary>
public static class Crc32C
{
    const uint Polynomial = 0x82F63B78u;
    const uint MaskDelta = 0xA282EAD8u;

    // Slicing-by-8 tables: Table[k][b] is the CRC of byte b followed by k zero bytes.
    static readonly uint[][] Table = BuildTables();

    static uint[][] BuildTables()
    {
        var t = new uint[8][];
        for (int k = 0; k < 8; k++) t[k] = new uint[256];
        for (uint b = 0; b < 256; b++)
        {
            uint c = b;
            for (int i = 0; i < 8; i++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            t[0][b] = c;
        }
        for (int k = 1; k < 8; k++)
            for (int b = 0; b < 256; b++)
                t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
        return t;
    }

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>TensorFlow's masked CRC: rotate right by 15 bits and add a constant.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));

    static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            for (; i + 8 <= data.Length; i += 8)
                c = Sse42.X64.Crc32(c, BitConverter.ToUInt64(data.Slice(i, 8)));
            crc = (uint)c;
            for (; i < data.Length; i++) crc = Sse42.Crc32(crc, data[i]);
            return crc;
        }
        return UpdateTable(crc, data);
    }

    static uint UpdateTable(uint crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        var t = Table;
        for (; i + 8 <= data.Length; i += 8)
        {
            uint lo = crc ^ (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24]
                ^ t[3][data[i + 4]] ^ t[2][data[i + 5]] ^ t[1][data[i + 6]] ^ t[0][data[i + 7]];
        }
        for (; i < data.Length; i++) crc = (crc >> 8) ^ t[0][(crc ^ data[i]) & 0xFF];
        return crc;
    }

    /// <summary>The portable path alone (tests compare it with the hardware instruction where there is one).</summary>
    internal static uint ComputePortable(ReadOnlySpan<byte> data) => ~UpdateTable(0xFFFFFFFFu, data);
}
