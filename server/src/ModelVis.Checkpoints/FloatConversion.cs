using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelVis.Checkpoints;

/// <summary>Widening of stored element types to float32 (exact for F16 and BF16).</summary>
public static class FloatConversion
{
    public static void Widen(DType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (type)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case DType.BF16:
                BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case DType.F64:
                var d = MemoryMarshal.Cast<byte, double>(source);
                for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                break;
            default:
                throw new CheckpointException($"dtype {type.Name()} cannot be widened to float32");
        }
    }

    /// <summary>BF16 is the top half of an IEEE float32: shift it back into place (32 at a time where vectors allow).</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= source.Length; i += 32)
            {
                var (lower, upper) = Vector512.Widen(Vector512.Create(source.Slice(i, 32)));
                (lower << 16).CopyTo(bits.Slice(i, 16));
                (upper << 16).CopyTo(bits.Slice(i + 16, 16));
            }
        for (; i < source.Length; i++) bits[i] = (uint)source[i] << 16;
    }
}
