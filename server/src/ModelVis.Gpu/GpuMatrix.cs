using ILGPU;
using ILGPU.Runtime;
using ModelVis.Tensors;

namespace ModelVis.Gpu;

/// <summary>
/// A weight matrix W [N, K] uploaded once in its stored type — float32, float16, bfloat16 or GGUF blocks — as rows of
/// bytes, one buffer per segment (q | k | v sit side by side, possibly of different types). Products widen each
/// element inside the kernel (<see cref="Kernels.IStoredRows"/>), so the accelerator holds the file's bytes, not float32.
/// </summary>
public sealed class GpuMatrix : DeviceMatrix, IDisposable
{
    /// <summary>Columns [First, First + Columns) of B = Wᵀ: rows of W of <see cref="RowBytes"/> bytes each, decoded by <see cref="Product"/>.</summary>
    internal sealed record Segment(int First, int Columns, long RowBytes, MemoryBuffer1D<byte, Stride1D.Dense> Bytes, GpuDevice.ProductKernel Product);

    readonly GpuDevice _device;

    internal IReadOnlyList<Segment> Segments { get; }

    internal GpuMatrix(GpuDevice device, WeightMatrix host, IReadOnlyList<Segment> segments) : base(host)
    {
        _device = device;
        Segments = segments;
        DeviceBytes = segments.Sum(s => s.Bytes.LengthInBytes);
    }

    public override string Storage => Host.Storage;
    public override long DeviceBytes { get; }

    public override void Multiply(ReadOnlySpan<float> a, int m, Span<float> c, ReadOnlySpan<float> paddedBias, bool accumulate) =>
        _device.Multiply(this, a, m, c, paddedBias, accumulate);

    public void Dispose() => _device.Release(this);
}
