using System.Buffers.Binary;

namespace ModelVis.Checkpoints.Tests;

/// <summary>Random GGUF blocks whose scales are finite, for decoders to be compared on (also linked into the engine's GPU tests).</summary>
static class RandomGgmlBlocks
{
    /// <summary>Byte offsets of each type's fp16 fields (d, then dmin/m), so random test blocks can hold finite ones.</summary>
    public static int[] Fp16Fields(DType t) => t switch
    {
        DType.Q8_0 or DType.Q4_0 or DType.Q5_0 => [0],
        DType.Q4_1 or DType.Q5_1 or DType.Q4_K or DType.Q5_K => [0, 2],
        DType.Q2_K => [80, 82],
        DType.Q3_K => [108],
        DType.Q6_K => [208],
        _ => [],
    };

    public static byte[] Make(DType t, int blocks, Random rng)
    {
        var (_, size) = t.Block();
        var bytes = new byte[blocks * size];
        rng.NextBytes(bytes);
        for (int i = 0; i < blocks; i++)
        {
            // Random bytes would make some scales NaN or infinite: write finite ones of either sign instead.
            foreach (int at in Fp16Fields(t))
                BitConverter.TryWriteBytes(bytes.AsSpan(i * size + at), (Half)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-4, 2))));
            if (t == DType.Q8_K)
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * size), (float)(rng.NextDouble() * 2 - 1) / 100);
        }
        return bytes;
    }
}
