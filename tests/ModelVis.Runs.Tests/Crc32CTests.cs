using System.Text;
using ModelVis.Runs;

namespace ModelVis.Runs.Tests;

public class Crc32CTests
{
    [Fact]
    public void PublishedCheckValues()
    {
        // The CRC-32C check value of "123456789", and the RFC 3720 (iSCSI) vectors.
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void HardwareAndTablePathsAgree()
    {
        var rng = new Random(7);
        foreach (var n in new[] { 1, 7, 8, 9, 63, 64, 1000, 4097 })
        {
            var data = new byte[n];
            rng.NextBytes(data);
            Assert.Equal(Crc32C.ComputePortable(data), Crc32C.Compute(data));
        }
    }

    [Fact]
    public void MaskRotatesAndOffsets()
    {
        // ((crc >> 15) | (crc << 17)) + 0xa282ead8, by hand for crc = 1 and crc = 0x8000.
        Assert.Equal((1u << 17) + 0xA282EAD8u, Crc32C.Mask(1));
        Assert.Equal(1u + 0xA282EAD8u, Crc32C.Mask(0x8000));
    }
}
