using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ModelVis.Gpu.Kernels;
using ModelVis.Tensors;

namespace ModelVis.Gpu;

/// <summary>
/// The engine's products and attention on an ILGPU accelerator: CUDA on a machine with an NVIDIA driver (ILGPU compiles
/// the kernels to PTX at run time; no CUDA toolkit needed), or ILGPU's CPU accelerator, which runs the very same kernels
/// on the CPU — that is how the test suite checks them on machines without a GPU.
/// <para>Weights are uploaded once when a model loads (<see cref="Place"/>). A rotary decoder's attention and gated-MLP
/// sublayers run whole here (<see cref="SelfAttention"/>, <see cref="GatedMlp"/>): their input rows go up, their output
/// comes back, with the attention probabilities and MLP activations only when the request keeps them. Other families'
/// products and attention calls upload their inputs and download their outputs each. One stream, so calls from
/// concurrent passes take turns.</para>
/// </summary>
public sealed class GpuDevice : ComputeDevice, IDisposable
{
    /// <summary>C = A·B launch for one storage type: (tiles, shape, A, W bytes, bias, C).</summary>
    internal delegate void ProductKernel(Index2D tiles, ProductShape shape, ArrayView<float> a, ArrayView<byte> w, ArrayView<float> bias, ArrayView<float> c);

    /// <summary>Kept free for activations, probabilities and the driver when weights are placed.</summary>
    public const long Headroom = 1L << 30;
    /// <summary>Host bytes staged per upload of a matrix's rows.</summary>
    const int UploadChunk = 64 << 20;

    readonly Context _context;
    readonly Accelerator _accelerator;
    readonly object _stream = new();
    readonly Dictionary<string, ProductKernel> _products = new();
    readonly Action<Index2D, AttentionShape, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _attend;
    readonly Action<Index2D, GateShape, ArrayView<float>, ArrayView<float>> _gate;
    readonly Action<Index2D, RowNormShape, ArrayView<float>, ArrayView<float>> _rmsNorm;
    readonly Action<Index2D, RotaryShape, ArrayView<float>, ArrayView<float>, ArrayView<float>> _rotate;
    readonly long _memoryBytes;
    long _placedBytes, _scratchBytes, _peakBytes, _productLaunches, _attentionLaunches;

    // Scratch buffers reused by every call (grown, never shrunk).
    MemoryBuffer1D<float, Stride1D.Dense>? _a, _c, _q, _kv, _bias, _secondBias, _contextRows, _probabilities, _gateUp, _gated, _cos, _sin;
    /// <summary>One buffer per query/key norm's gain of a sublayer (uploads to one buffer would overwrite a gain a queued kernel reads).</summary>
    readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _gains = new MemoryBuffer1D<float, Stride1D.Dense>?[4];
    MemoryBuffer1D<int, Stride1D.Dense>? _keyMask;

    GpuDevice(Context context, Device device, long? memoryBytes = null)
    {
        _context = context;
        _accelerator = device.CreateAccelerator(context);
        _memoryBytes = Math.Min(_accelerator.MemorySize, memoryBytes ?? long.MaxValue);
        Name = device.AcceleratorType == AcceleratorType.Cuda ? $"cuda: {device.Name}" : "ilgpu-cpu: ILGPU's CPU accelerator (the GPU kernels run on the CPU)";
        try
        {
            _rmsNorm = Compile("RMSNorm", () => _accelerator.LoadAutoGroupedStreamKernel<Index2D, RowNormShape, ArrayView<float>, ArrayView<float>>(RowKernels.RmsNorm));
            _rotate = Compile("rotary", () => _accelerator.LoadAutoGroupedStreamKernel<Index2D, RotaryShape, ArrayView<float>, ArrayView<float>, ArrayView<float>>(RowKernels.Rotate));
            _gate = Compile("gated activation", () => _accelerator.LoadAutoGroupedStreamKernel<Index2D, GateShape, ArrayView<float>, ArrayView<float>>(GateKernel.Apply));
            _attend = Compile("attention", () => _accelerator.LoadAutoGroupedStreamKernel<Index2D, AttentionShape, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AttentionKernel.Attend));
        }
        catch
        {
            _accelerator.Dispose();
            context.Dispose();
            throw;
        }
    }

    /// <summary>The storage types whose rows the kernels decode; a matrix of any other type stays with the CPU kernels.</summary>
    public static IReadOnlyList<string> DecodedStorage { get; } =
        ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"];

    public override string Name { get; }

    /// <summary>Total accelerator memory less what placed weights and the headroom take.</summary>
    public override long? FreeBytes => Math.Max(0, _memoryBytes - Headroom - Interlocked.Read(ref _placedBytes));

    /// <summary>Bytes of weights placed on the accelerator and not yet released.</summary>
    public long PlacedBytes => Interlocked.Read(ref _placedBytes);
    /// <summary>The most this device has held at once: placed weights plus working buffers.</summary>
    public long PeakBytes => Interlocked.Read(ref _peakBytes);
    /// <summary>Product and attention kernels launched so far (what a run did on the device, for tests and benchmarks).</summary>
    public long ProductLaunches => Interlocked.Read(ref _productLaunches);
    public long AttentionLaunches => Interlocked.Read(ref _attentionLaunches);

    static Context NewContext(bool cuda) =>
        Context.Create(b => (cuda ? b.Cuda() : b.CPU(CPUDeviceKind.Default)).Optimize(OptimizationLevel.O2).EnableAlgorithms());

    /// <summary>The first CUDA device ILGPU finds, or null where there is none (no NVIDIA driver, or no GPU).</summary>
    public static GpuDevice? OpenCuda()
    {
        Context context;
        try { context = NewContext(cuda: true); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or CudaException or NotSupportedException) { return null; }
        var cudaDevices = context.GetCudaDevices();
        Device? device = cudaDevices.Count > 0 ? cudaDevices[0] : null;
        if (device is null)
        {
            context.Dispose();
            return null;
        }
        return new GpuDevice(context, device);
    }

    /// <summary>ILGPU's CPU accelerator: the GPU kernels, run by CPU threads (slow; for checking the kernels where no GPU is).</summary>
    /// <param name="memoryBytes">The memory it reports, to check what a smaller card refuses (unlimited when not given).</param>
    public static GpuDevice OpenCpuAccelerator(long? memoryBytes = null)
    {
        var context = NewContext(cuda: false);
        return new GpuDevice(context, context.GetCPUDevice(0), memoryBytes);
    }

    static readonly Lazy<GpuDevice?> SharedCuda = new(() => OpenCuda());
    static readonly Lazy<GpuDevice> SharedCpuAccelerator = new(() => OpenCpuAccelerator());

    /// <summary>The choices <see cref="Select"/> takes (the <c>modelvis.device</c> setting, <c>--device</c>).</summary>
    public static IReadOnlyList<string> Choices { get; } = ["auto", "cpu", "cuda", "ilgpu-cpu"];

    /// <summary>
    /// auto: CUDA when ILGPU finds a device, else the CPU; cpu: the CPU kernels; cuda: the GPU or an error saying why not;
    /// ilgpu-cpu: the GPU kernels on ILGPU's CPU accelerator. One device of each kind per process, shared by its models.
    /// </summary>
    public static ComputeDevice Select(string choice) => choice switch
    {
        "auto" => CudaIfItWorks() ?? Cpu,
        "cpu" => Cpu,
        "cuda" => SharedCuda.Value ?? throw new DeviceException(
            "--device cuda: ILGPU found no CUDA device (it needs an NVIDIA GPU and its driver's libcuda); use --device auto or cpu"),
        "ilgpu-cpu" => SharedCpuAccelerator.Value,
        _ => throw new ArgumentException($"unknown device \"{choice}\"; choose one of {string.Join(", ", Choices)}"),
    };

    /// <summary>The CUDA device, or null when there is none or its kernels do not compile (auto then runs on the CPU).</summary>
    static GpuDevice? CudaIfItWorks()
    {
        try { return SharedCuda.Value; }
        catch (DeviceException) { return null; }
    }

    // ---------------------------------------------------------------- weights

    public override WeightMatrix Place(WeightMatrix matrix)
    {
        var rows = RowsOf(matrix);
        if (rows is null) return matrix; // a type the kernels do not decode: it stays with the CPU kernels
        var segments = new List<GpuMatrix.Segment>();
        try
        {
            int first = 0;
            foreach (var (columns, rowBytes, storage, read) in rows)
            {
                var bytes = _accelerator.Allocate1D<byte>((long)columns * rowBytes);
                segments.Add(new GpuMatrix.Segment(first, columns, rowBytes, bytes, ProductFor(storage)));
                Upload(bytes, columns, rowBytes, read);
                first += columns;
            }
        }
        catch (Exception e) when (e is AcceleratorException or OutOfMemoryException)
        {
            foreach (var s in segments) s.Bytes.Dispose();
            throw new DeviceException($"{Name}: out of memory placing a [{matrix.N}, {matrix.K}] {matrix.Storage} matrix ({e.Message})", e);
        }
        var placed = new GpuMatrix(this, matrix, segments);
        Interlocked.Add(ref _placedBytes, placed.DeviceBytes);
        NotePeak();
        return placed;
    }

    /// <summary>W's rows as segments of raw bytes the kernels decode, or null when some part cannot be decoded here.</summary>
    static List<(int Columns, long RowBytes, string Storage, RowBytesReader Read)>? RowsOf(WeightMatrix matrix)
    {
        switch (matrix)
        {
            case StoredRowsMatrix stored:
                if (stored.Segments.Any(s => s.ReadBytes is null || !DecodedStorage.Contains(s.Storage))) return null;
                return stored.Segments.Select(s => (s.Rows, s.BytesPerRow, s.Storage, s.ReadBytes!)).ToList();
            case PackedMatrix packed:
                // Rows of W are columns of the packed B: gathered back into float32 rows, one at a time.
                int k = packed.K;
                return [(packed.N, 4L * k, "F32", (first, count, destination) =>
                {
                    var row = new float[k];
                    for (int r = 0; r < count; r++)
                    {
                        packed.CopyColumn(first + r, row);
                        System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()).CopyTo(destination.Slice(r * 4 * k, 4 * k));
                    }
                })];
            default:
                return null;
        }
    }

    void Upload(MemoryBuffer1D<byte, Stride1D.Dense> target, int rows, long rowBytes, RowBytesReader read)
    {
        int rowsPerChunk = (int)Math.Max(1, UploadChunk / rowBytes);
        var staging = new byte[Math.Min(rows, rowsPerChunk) * rowBytes];
        for (int r = 0; r < rows; r += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, rows - r);
            var chunk = staging.AsSpan(0, checked((int)(count * rowBytes)));
            read(r, count, chunk);
            lock (_stream) View(target).SubView(r * rowBytes, chunk.Length).CopyFromCPU((ReadOnlySpan<byte>)chunk);
        }
    }

    internal void Release(GpuMatrix matrix)
    {
        foreach (var s in matrix.Segments)
            if (!s.Bytes.IsDisposed)
            {
                s.Bytes.Dispose();
                Interlocked.Add(ref _placedBytes, -s.Bytes.LengthInBytes);
            }
    }

    ProductKernel ProductFor(string storage)
    {
        lock (_products)
        {
            if (_products.TryGetValue(storage, out var kernel)) return kernel;
            kernel = storage switch
            {
                "F32" => Load<F32Rows>(),
                "F16" => Load<F16Rows>(),
                "BF16" => Load<BF16Rows>(),
                "Q8_0" => Load<Q8_0Rows>(),
                "Q4_0" => Load<Q4_0Rows>(),
                "Q4_1" => Load<Q4_1Rows>(),
                "Q5_0" => Load<Q5_0Rows>(),
                "Q5_1" => Load<Q5_1Rows>(),
                "Q2_K" => Load<Q2_KRows>(),
                "Q3_K" => Load<Q3_KRows>(),
                "Q4_K" => Load<Q4_KRows>(),
                "Q5_K" => Load<Q5_KRows>(),
                "Q6_K" => Load<Q6_KRows>(),
                "Q8_K" => Load<Q8_KRows>(),
                _ => throw new NotSupportedException($"no product kernel for {storage} rows"),
            };
            return _products[storage] = kernel;
        }
    }

    ProductKernel Load<TRows>() where TRows : struct, IStoredRows
    {
        var launch = Compile(typeof(TRows).Name, () => _accelerator.LoadAutoGroupedStreamKernel<Index2D, ProductShape, ArrayView<float>, ArrayView<byte>, ArrayView<float>, ArrayView<float>>(Products.Multiply<TRows>));
        return (tiles, shape, a, w, bias, c) => launch(tiles, shape, a, w, bias, c);
    }

    /// <summary>ILGPU compiles a kernel for the device when it is loaded; a failure there says which kernel and what to do.</summary>
    T Compile<T>(string kernel, Func<T> load)
    {
        try { return load(); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DeviceException($"{Name}: the {kernel} kernel did not compile for this device ({e.GetBaseException().Message}); run on the CPU (modelvis.device = cpu, or --device cpu)", e);
        }
    }

    // ---------------------------------------------------------------- products and attention

    internal void Multiply(GpuMatrix b, ReadOnlySpan<float> a, int m, Span<float> c, ReadOnlySpan<float> paddedBias, bool accumulate)
    {
        long outputs = (long)m * b.N;
        lock (_stream)
        {
            var da = Upload(ref _a, a[..(m * b.K)]);
            var dc = accumulate ? Upload(ref _c, c[..checked((int)outputs)]) : Scratch(ref _c, outputs);
            Launch(b, da, m, dc, paddedBias, ref _bias, accumulate);
            _accelerator.Synchronize();
            dc.SubView(0, outputs).CopyToCPU(c[..checked((int)outputs)]);
        }
    }

    /// <summary>Queues C = A·B (+ bias) or C += A·B on the device, one launch per segment of B; the bias goes up into <paramref name="biasBuffer"/>.</summary>
    void Launch(GpuMatrix b, ArrayView<float> a, int m, ArrayView<float> c, ReadOnlySpan<float> paddedBias,
        ref MemoryBuffer1D<float, Stride1D.Dense>? biasBuffer, bool accumulate = false)
    {
        var bias = paddedBias.IsEmpty ? Scratch(ref biasBuffer, 1) : Upload(ref biasBuffer, paddedBias[..b.N]);
        foreach (var s in b.Segments)
        {
            var shape = new ProductShape
            {
                M = m, K = b.K, Columns = s.Columns, Ldc = b.N, ColumnOffset = s.First, RowBytes = s.RowBytes,
                HasBias = paddedBias.IsEmpty ? 0 : 1, Accumulate = accumulate ? 1 : 0,
            };
            var tiles = new Index2D((m + Products.Tile - 1) / Products.Tile, (s.Columns + Products.Tile - 1) / Products.Tile);
            s.Product(tiles, shape, a, View(s.Bytes), bias, c);
            Interlocked.Increment(ref _productLaunches);
        }
    }

    /// <summary>
    /// The gated MLP without leaving the device: x goes up, gate | up, the activation and down run there, the output
    /// (and the activations only when kept) come back. Falls back to the base path for weights left on the CPU.
    /// </summary>
    public override void GatedMlp(ReadOnlySpan<float> x, int n, Linear gateUpProjection, Linear down, string activation,
        float[] gateUp, float[] activations, bool keepActivations, Action<float[]>? onGateUp, Span<float> output)
    {
        if (onGateUp is not null || gateUpProjection.Weight is not GpuMatrix gu || down.Weight is not GpuMatrix dn || GateKernel.Number(activation) is not { } kind)
        {
            base.GatedMlp(x, n, gateUpProjection, down, activation, gateUp, activations, keepActivations, onGateUp, output);
            return;
        }
        int width = dn.K;
        long middle = (long)n * width, outputs = (long)n * dn.N;
        lock (_stream)
        {
            var dx = Upload(ref _a, x[..(n * gu.K)]);
            var dGateUp = Scratch(ref _gateUp, 2 * middle);
            Launch(gu, dx, n, dGateUp, gateUpProjection.PaddedBias, ref _bias);
            var dGated = Scratch(ref _gated, middle);
            _gate(new Index2D(n, width), new GateShape { Width = width, Activation = kind }, dGateUp, dGated);
            var dOutput = Scratch(ref _c, outputs);
            Launch(dn, dGated, n, dOutput, down.PaddedBias, ref _secondBias);
            _accelerator.Synchronize();
            if (keepActivations) dGated.SubView(0, middle).CopyToCPU(activations.AsSpan(0, checked((int)middle)));
            dOutput.SubView(0, outputs).CopyToCPU(output[..checked((int)outputs)]);
        }
    }

    public override void Attend(ReadOnlySpan<float> q, int nq, int qStride, int qOffset,
        ReadOnlySpan<float> kv, int nk, int kvStride, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, float scaleDivisor, AttentionMask mask, Span<float> context, Span<float> probabilities,
        ReadOnlySpan<float> relativeBias = default, float softCap = 0, int headStride = 0)
    {
        if (headStride <= 0) headStride = headDim;
        Attention.CheckArguments(q, nq, qStride, kv, nk, kvStride, heads, kvHeads, headDim, mask, context, probabilities, relativeBias);
        bool keep = !probabilities.IsEmpty, sameRows = q == kv;
        long contextLength = (long)nq * heads * headDim, probabilityLength = (long)heads * nq * nk;
        var shape = AttentionShape.Of(nq, qStride, qOffset, nk, kvStride, kOffset, vOffset, heads, kvHeads, headDim, headStride,
            scaleDivisor, softCap, mask, hasBias: !relativeBias.IsEmpty, keep);
        lock (_stream)
        {
            var dq = Upload(ref _q, q[..checked(nq * qStride)]);
            var dkv = sameRows ? dq : Upload(ref _kv, kv[..checked(nk * kvStride)]);
            var dbias = relativeBias.IsEmpty ? Scratch(ref _bias, 1) : Upload(ref _bias, relativeBias);
            var dcontext = LaunchAttention(shape, dq, dkv, mask, dbias, out var dprobabilities);
            _accelerator.Synchronize();
            dcontext.SubView(0, contextLength).CopyToCPU(context[..checked((int)contextLength)]);
            if (keep) dprobabilities.SubView(0, probabilityLength).CopyToCPU(probabilities[..checked((int)probabilityLength)]);
        }
    }

    /// <summary>Queues the attention kernel on rows already on the device: the context rows, and the probabilities when the shape keeps them.</summary>
    ArrayView<float> LaunchAttention(AttentionShape shape, ArrayView<float> q, ArrayView<float> kv, AttentionMask mask, ArrayView<float> bias,
        out ArrayView<float> probabilities)
    {
        var keyMask = mask.KeyMask is { } keys ? Upload(ref _keyMask, keys) : Scratch(ref _keyMask, 1);
        var context = Scratch(ref _contextRows, (long)shape.Nq * shape.Heads * shape.HeadDim);
        probabilities = Scratch(ref _probabilities, shape.KeepProbabilities != 0 ? (long)shape.Heads * shape.Nq * shape.Nk : 1);
        _attend(new Index2D(shape.Nq, shape.Heads), shape, q, kv, keyMask, bias, context, probabilities);
        Interlocked.Increment(ref _attentionLaunches);
        return context;
    }

    /// <summary>
    /// The rotary decoder's attention sublayer without leaving the device: x goes up; q | k | v, the query/key norms,
    /// rotary, attention and o_proj run there; the output (and the probabilities only when kept) come back. Falls back
    /// to the CPU's way when a hook wants the heads' outputs or a matrix stayed on the CPU.
    /// </summary>
    public override void SelfAttention(RotaryAttention a, ReadOnlySpan<float> x, int n, float[] qkv, float[] context,
        Span<float> probabilities, Action<float[]>? onHeadOutputs, Span<float> output)
    {
        if (onHeadOutputs is not null || a.Qkv.Weight is not GpuMatrix qkvWeight || a.O.Weight is not GpuMatrix oWeight || a.QueryKeyNorms.Count > _gains.Length)
        {
            base.SelfAttention(a, x, n, qkv, context, probabilities, onHeadOutputs, output);
            return;
        }
        int width = a.Width, rotaryDim = a.Rotary.HeadDim;
        bool keep = !probabilities.IsEmpty;
        long probabilityLength = (long)a.Heads * n * n, outputs = (long)n * oWeight.N;
        if (keep && probabilities.Length < probabilityLength) throw new ArgumentException("probabilities is too short");
        var shape = AttentionShape.Of(n, width, 0, n, width, a.QWidth, a.QWidth + a.KvWidth, a.Heads, a.KvHeads, a.HeadDim, a.HeadDim,
            a.ScaleDivisor, a.SoftCap, a.Mask, hasBias: false, keep);
        lock (_stream)
        {
            var dx = Upload(ref _a, x[..(n * qkvWeight.K)]);
            var dqkv = Scratch(ref _q, (long)n * width);
            Launch(qkvWeight, dx, n, dqkv, a.Qkv.PaddedBias, ref _bias);
            for (int i = 0; i < a.QueryKeyNorms.Count; i++)
            {
                var norm = a.QueryKeyNorms[i];
                var gain = Upload(ref _gains[i], norm.Gain);
                _rmsNorm(new Index2D(n, norm.Count), new RowNormShape { Width = width, Offset = norm.Offset, Dim = norm.Dim, Eps = norm.Eps }, dqkv, gain);
            }
            var cos = Upload(ref _cos, a.Cos.AsSpan(0, n * rotaryDim));
            var sin = Upload(ref _sin, a.Sin.AsSpan(0, n * rotaryDim));
            _rotate(new Index2D(n, a.Heads * (rotaryDim / 2)), new RotaryShape { Width = width, Offset = 0, Heads = a.Heads, HeadStride = a.HeadDim, RotaryDim = rotaryDim }, dqkv, cos, sin);
            _rotate(new Index2D(n, a.KvHeads * (rotaryDim / 2)), new RotaryShape { Width = width, Offset = a.QWidth, Heads = a.KvHeads, HeadStride = a.HeadDim, RotaryDim = rotaryDim }, dqkv, cos, sin);
            var dcontext = LaunchAttention(shape, dqkv, dqkv, a.Mask, Scratch(ref _kv, 1), out var dprobabilities);
            var doutput = Scratch(ref _c, outputs);
            Launch(oWeight, dcontext, n, doutput, a.O.PaddedBias, ref _secondBias);
            _accelerator.Synchronize();
            if (keep) dprobabilities.SubView(0, probabilityLength).CopyToCPU(probabilities[..checked((int)probabilityLength)]);
            doutput.SubView(0, outputs).CopyToCPU(output[..checked((int)outputs)]);
        }
    }

    // ---------------------------------------------------------------- buffers

    static ArrayView<T> View<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged => buffer.View;

    /// <summary>A scratch buffer of at least <paramref name="length"/> elements (contents undefined).</summary>
    ArrayView<T> Scratch<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            if (buffer is not null)
            {
                Interlocked.Add(ref _scratchBytes, -buffer.LengthInBytes);
                buffer.Dispose();
            }
            try
            {
                buffer = _accelerator.Allocate1D<T>(Math.Max(length, 1));
                Interlocked.Add(ref _scratchBytes, buffer.LengthInBytes);
                NotePeak();
            }
            catch (Exception e) when (e is AcceleratorException or OutOfMemoryException)
            {
                buffer = null;
                throw new DeviceException($"{Name}: out of memory for a working buffer of {length:N0} values; try a shorter selection, fewer layers, or --device cpu", e);
            }
        }
        return View(buffer);
    }

    void NotePeak()
    {
        long now = Interlocked.Read(ref _placedBytes) + Interlocked.Read(ref _scratchBytes), peak;
        while (now > (peak = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, now, peak) != peak) { }
    }

    ArrayView<T> Upload<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, ReadOnlySpan<T> values) where T : unmanaged
    {
        var view = Scratch(ref buffer, values.Length);
        view.SubView(0, values.Length).CopyFromCPU(values);
        return view;
    }

    public void Dispose()
    {
        foreach (var b in new IDisposable?[] { _a, _c, _q, _kv, _bias, _secondBias, _contextRows, _probabilities, _gateUp, _gated, _cos, _sin, _keyMask }.Concat(_gains)) b?.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
