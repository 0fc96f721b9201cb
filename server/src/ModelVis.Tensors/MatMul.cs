using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelVis.Tensors;

/// <summary>Which instruction set the matrix kernels use.</summary>
public enum KernelPath { Scalar, Vector256, Vector512 }

/// <summary>
/// C [m, N] = A [m, K] · B [K, N] (+ bias), with B packed (<see cref="PackedMatrix"/>).
/// <para>
/// The hot loop is a register-blocked micro-kernel: a tile of C of 6 rows × 32 columns lives in twelve
/// 512-bit accumulators while k runs; each step loads one row of the B panel (two vectors) and
/// broadcasts one element of each of the six A rows, i.e. 12 FMAs for 8 loads. The k loop is blocked
/// (<see cref="KBlock"/>) so the panel slice stays in L1 and A's rows stay in L2 across panels. Work is
/// split over column panels (or rows, for narrow outputs), one contiguous share per core.
/// </para>
/// </summary>
public static unsafe class MatMul
{
    const int NR = PackedMatrix.PanelWidth;
    /// <summary>k-steps per block: a 256 × 32 panel slice is 32 KiB.</summary>
    const int KBlock = 256;
    /// <summary>Rows of A per block (a multiple of every kernel height): 96 × 256 floats of A = 96 KiB in L2.</summary>
    const int MBlock = 96;
    /// <summary>Below this many multiply-adds a product runs on one thread (forking costs more than it saves).</summary>
    const long ParallelThreshold = 1 << 20;

    /// <summary>The kernels in use: the widest the CPU accelerates. Settable so tests can check every path on one machine.</summary>
    public static KernelPath Path { get; set; } =
        Vector512.IsHardwareAccelerated ? KernelPath.Vector512
        : Vector256.IsHardwareAccelerated ? KernelPath.Vector256
        : KernelPath.Scalar;

    /// <summary>Rows of C one micro-kernel call produces on the current path.</summary>
    public static int TileRows => Path switch { KernelPath.Vector512 => 6, KernelPath.Vector256 => 2, _ => 1 };

    /// <summary>Floats of packed panels one worker widens at a time for a stored matrix: 2 MiB, about an L2.</summary>
    const int PackChunkFloats = 1 << 19;

    [ThreadStatic] static float[]? t_panels;

    /// <summary>
    /// C = A·B + bias (or C += A·B when <paramref name="accumulate"/>). A is [m, B.K] row-major, C is [m, B.N]
    /// row-major. <paramref name="paddedBias"/>, when given, holds at least B.Panels × 32 values (see <see cref="Linear"/>).
    /// A <see cref="PackedMatrix"/> and a <see cref="RowMajorMatrix"/> are read in place; any other <see cref="WeightMatrix"/>
    /// is packed (widened, transposed) a few panels at a time by the worker that multiplies them, so it never exists
    /// packed as a whole.
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> a, int m, WeightMatrix b, Span<float> c, ReadOnlySpan<float> paddedBias = default, bool accumulate = false)
    {
        if (m == 0) return;
        if (a.Length < (long)m * b.K) throw new ArgumentException($"A has {a.Length} values, needs {m} × {b.K}");
        if (c.Length < (long)m * b.N) throw new ArgumentException($"C has {c.Length} values, needs {m} × {b.N}");
        if (!paddedBias.IsEmpty && paddedBias.Length < b.Panels * NR) throw new ArgumentException("bias is not padded to whole panels");
        if (b is DeviceMatrix onDevice)
        {
            onDevice.Multiply(a, m, c, paddedBias, accumulate);
            return;
        }
        fixed (float* pa = a)
        fixed (float* pc = c)
        fixed (float* pbias = paddedBias)
        {
            if (b is PackedMatrix packed) MultiplyPacked(pa, m, packed, pc, pbias, accumulate);
            else if (b is RowMajorMatrix rowMajor) MultiplyRowMajor(pa, m, rowMajor, pc, pbias, accumulate);
            else MultiplyStored(pa, m, b, pc, pbias, accumulate);
        }
    }

    static void MultiplyPacked(float* pa, int m, PackedMatrix b, float* pc, float* pbias, bool accumulate)
    {
        fixed (float* pb = b.Data)
            RunParallel(new Job<PackedRows>(pa, b.K, pb, b.K * NR, default, b.K, b.N, pc, b.N, pbias, accumulate), m, b.Panels, b.K);
    }

    /// <summary>
    /// B row-major, read where it is: a whole panel is 32 consecutive floats of each of its K rows, so the kernels
    /// step through B with the row stride instead of 32. Only a last partial panel is packed (zero-padded).
    /// </summary>
    static void MultiplyRowMajor(float* pa, int m, RowMajorMatrix b, float* pc, float* pbias, bool accumulate)
    {
        int k = b.K, n = b.N, whole = n / NR;
        fixed (float* pb = b.Values.Span)
        {
            if (whole > 0) RunParallel(new Job<RowStride>(pa, k, pb, NR, new RowStride(n), k, n, pc, n, pbias, accumulate), m, whole, k);
            if (whole == b.Panels) return;
            var panel = t_panels is { } t && t.Length >= k * NR ? t : t_panels = GC.AllocateArray<float>(k * NR, pinned: true);
            b.PackPanels(whole, 1, panel);
            fixed (float* pp = panel)
                new Job<PackedRows>(pa, k, pp - (long)whole * k * NR, k * NR, default, k, n, pc, n, pbias, accumulate).Run(0, m, whole, whole + 1);
        }
    }

    /// <summary>Panels [0, <paramref name="panels"/>) of a job over <paramref name="m"/> rows, split over the workers by panels or by rows.</summary>
    static void RunParallel<TS>(Job<TS> job, int m, int panels, int k) where TS : struct, IRowStride
    {
        long work = (long)m * panels * NR * k;
        if (work < ParallelThreshold || Parallelism.Threads == 1)
            job.Run(0, m, 0, panels);
        else if (panels >= 4 * Parallelism.Threads || m < 4 * TileRows * Parallelism.Threads)
            Parallelism.ForRanges(panels, (p0, p1) => job.Run(0, m, p0, p1));
        else
        {
            int tr = TileRows, tiles = (m + tr - 1) / tr;
            Parallelism.ForRanges(tiles, (t0, t1) => job.Run(t0 * tr, Math.Min(m, t1 * tr), 0, panels));
        }
    }

    /// <summary>Chunks of panels, each widened into the worker's own buffer and multiplied by all of A before the next.</summary>
    static void MultiplyStored(float* pa, int m, WeightMatrix b, float* pc, float* pbias, bool accumulate)
    {
        int k = b.K, panelFloats = k * NR;
        bool parallel = Parallelism.Threads > 1 && (long)m * b.N * k >= ParallelThreshold;
        int perChunk = Math.Clamp(PackChunkFloats / panelFloats, 1, b.Panels);
        if (parallel)
        {
            // Whole rounds of chunks, one per worker, so no worker waits on another's last chunk (as far as panels allow).
            int threads = Parallelism.Threads, rounds = (b.Panels + perChunk * threads - 1) / (perChunk * threads);
            perChunk = Math.Max(1, (b.Panels + rounds * threads - 1) / (rounds * threads));
        }
        int chunks = (b.Panels + perChunk - 1) / perChunk;
        nint aPtr = (nint)pa, cPtr = (nint)pc, biasPtr = (nint)pbias;
        void Chunk(int chunk)
        {
            int p0 = chunk * perChunk, count = Math.Min(perChunk, b.Panels - p0);
            var panels = t_panels is { } t && t.Length >= count * panelFloats ? t : t_panels = GC.AllocateArray<float>(perChunk * panelFloats, pinned: true);
            b.PackPanels(p0, count, panels);
            fixed (float* pp = panels)
            {
                // The job indexes panels from the matrix's start; point it so panel p0 lands on the buffer's first.
                var job = new Job<PackedRows>((float*)aPtr, k, pp - (long)p0 * panelFloats, panelFloats, default, k, b.N, (float*)cPtr, b.N, (float*)biasPtr, accumulate);
                job.Run(0, m, p0, p0 + count);
            }
        }
        if (!parallel)
            for (int i = 0; i < chunks; i++) Chunk(i);
        else Parallelism.ForEach(chunks, Chunk);
    }

    /// <summary>
    /// One product described by raw pointers, runnable over any block of rows and panels. Panel p of B starts at
    /// <c>b + p × panelStride</c> and steps <c>ldb</c> floats per k: packed panels have (K × 32, 32), B read in
    /// place row-major has (32, N). The stride is a type so that the packed kernels keep their constant 32.
    /// </summary>
    readonly struct Job<TS>(float* a, int lda, float* b, long panelStride, TS ldb, int k, int n, float* c, int ldc, float* bias, bool accumulate)
        where TS : struct, IRowStride
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int row0, int row1, int panel0, int panel1)
        {
            int tr = TileRows;
            // Equal k blocks of at most KBlock (576 → 2 × 288, not 256 + 256 + 64): every block pays one load/store of C.
            int blocks = (k + KBlock - 1) / KBlock, step = (k + blocks - 1) / Math.Max(1, blocks);
            for (int k0 = 0; k0 < k; k0 += step)
            {
                int kc = Math.Min(step, k - k0);
                bool first = k0 == 0;
                for (int i0 = row0; i0 < row1; i0 += MBlock)
                {
                    int i1 = Math.Min(row1, i0 + MBlock);
                    for (int p = panel0; p < panel1; p++)
                    {
                        int j0 = p * NR, cols = Math.Min(NR, n - j0);
                        float* panel = b + p * panelStride + (long)k0 * ldb.Floats;
                        float* biasPanel = first && bias != null ? bias + j0 : null;
                        bool load = !first || accumulate;
                        for (int i = i0; i < i1; i += tr)
                        {
                            int rows = Math.Min(tr, i1 - i);
                            Tile(a + (long)i * lda + k0, lda, panel, ldb, kc, c + (long)i * ldc + j0, ldc, rows, cols, load, biasPanel);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[rows × cols] (+)= A[rows × kc] · panel[kc × 32] (+ bias on the first block). rows ≤ <see cref="TileRows"/>,
    /// cols ≤ 32; partial tiles go through a 32-wide scratch tile so the kernels only ever store whole vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile(float* a, int lda, float* panel, int kc, float* c, int ldc, int rows, int cols, bool load, float* bias) =>
        Tile(a, lda, panel, default(PackedRows), kc, c, ldc, rows, cols, load, bias);

    /// <summary>The same with the panel's k rows <paramref name="ldb"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile<TS>(float* a, int lda, float* panel, TS ldb, int kc, float* c, int ldc, int rows, int cols, bool load, float* bias) where TS : struct, IRowStride
    {
        if (cols == NR)
        {
            Kernel(a, lda, panel, ldb, kc, c, ldc, rows, load, bias);
            return;
        }
        float* tile = stackalloc float[6 * NR];
        if (load)
            for (int r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(c + (long)r * ldc, cols).CopyTo(new Span<float>(tile + r * NR, cols));
                new Span<float>(tile + r * NR + cols, NR - cols).Clear();
            }
        Kernel(a, lda, panel, ldb, kc, tile, NR, rows, load, bias);
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(tile + r * NR, cols).CopyTo(new Span<float>(c + (long)r * ldc, cols));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Kernel<TS>(float* a, int lda, float* panel, TS ldb, int kc, float* c, int ldc, int rows, bool load, float* bias) where TS : struct, IRowStride
    {
        switch (Path)
        {
            case KernelPath.Vector512:
                if (rows == 6) Kernel512x6(a, lda, panel, ldb, kc, c, ldc, load, bias);
                else for (int r = 0; r < rows; r++) Kernel512x1(a + (long)r * lda, panel, ldb, kc, c + (long)r * ldc, load, bias);
                break;
            case KernelPath.Vector256:
                if (rows == 2) Kernel256x2(a, lda, panel, ldb, kc, c, ldc, load, bias);
                else for (int r = 0; r < rows; r++) Kernel256x1(a + (long)r * lda, panel, ldb, kc, c + (long)r * ldc, load, bias);
                break;
            default:
                for (int r = 0; r < rows; r++) KernelScalar(a + (long)r * lda, panel, ldb, kc, c + (long)r * ldc, load, bias);
                break;
        }
    }

    // ---------------------------------------------------------------- AVX-512: 6 rows × 32 columns

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512x6<TS>(float* a, int lda, float* b, TS ldb, int kc, float* c, int ldc, bool load, float* bias) where TS : struct, IRowStride
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + ldc); c11 = Vector512.Load(c + ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16);
        }
        else if (bias != null)
        {
            c00 = c10 = c20 = c30 = c40 = c50 = Vector512.Load(bias);
            c01 = c11 = c21 = c31 = c41 = c51 = Vector512.Load(bias + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector512<float>.Zero;
        }
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        for (int k = 0; k < kc; k++, b += ldb.Floats)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a0[k]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[k]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[k]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[k]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[k]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[k]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
        }
        c00.Store(c); c01.Store(c + 16);
        c10.Store(c + ldc); c11.Store(c + ldc + 16);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 16);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 16);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 16);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512x1<TS>(float* a, float* b, TS ldb, int kc, float* c, bool load, float* bias) where TS : struct, IRowStride
    {
        Vector512<float> c0, c1;
        if (load) { c0 = Vector512.Load(c); c1 = Vector512.Load(c + 16); }
        else if (bias != null) { c0 = Vector512.Load(bias); c1 = Vector512.Load(bias + 16); }
        else c0 = c1 = Vector512<float>.Zero;
        // Two independent chains per column half hide the FMA latency when there is only one row.
        Vector512<float> d0 = Vector512<float>.Zero, d1 = Vector512<float>.Zero;
        int k = 0;
        for (; k + 1 < kc; k += 2, b += 2 * ldb.Floats)
        {
            var x = Vector512.Create(a[k]);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
            var y = Vector512.Create(a[k + 1]);
            d0 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + ldb.Floats), d0);
            d1 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + ldb.Floats + 16), d1);
        }
        if (k < kc)
        {
            var x = Vector512.Create(a[k]);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
        }
        (c0 + d0).Store(c);
        (c1 + d1).Store(c + 16);
    }

    // ---------------------------------------------------------------- AVX2: 2 rows × 32 columns

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel256x2<TS>(float* a, int lda, float* b, TS ldb, int kc, float* c, int ldc, bool load, float* bias) where TS : struct, IRowStride
    {
        Vector256<float> c00, c01, c02, c03, c10, c11, c12, c13;
        if (load)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8); c02 = Vector256.Load(c + 16); c03 = Vector256.Load(c + 24);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8); c12 = Vector256.Load(c + ldc + 16); c13 = Vector256.Load(c + ldc + 24);
        }
        else if (bias != null)
        {
            c00 = c10 = Vector256.Load(bias); c01 = c11 = Vector256.Load(bias + 8);
            c02 = c12 = Vector256.Load(bias + 16); c03 = c13 = Vector256.Load(bias + 24);
        }
        else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = Vector256<float>.Zero;
        float* a0 = a, a1 = a + lda;
        for (int k = 0; k < kc; k++, b += ldb.Floats)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8); var b2 = Vector256.Load(b + 16); var b3 = Vector256.Load(b + 24);
            var x = Vector256.Create(a0[k]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            c02 = Vector256.FusedMultiplyAdd(x, b2, c02); c03 = Vector256.FusedMultiplyAdd(x, b3, c03);
            x = Vector256.Create(a1[k]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            c12 = Vector256.FusedMultiplyAdd(x, b2, c12); c13 = Vector256.FusedMultiplyAdd(x, b3, c13);
        }
        c00.Store(c); c01.Store(c + 8); c02.Store(c + 16); c03.Store(c + 24);
        c10.Store(c + ldc); c11.Store(c + ldc + 8); c12.Store(c + ldc + 16); c13.Store(c + ldc + 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel256x1<TS>(float* a, float* b, TS ldb, int kc, float* c, bool load, float* bias) where TS : struct, IRowStride
    {
        Vector256<float> c0, c1, c2, c3;
        if (load) { c0 = Vector256.Load(c); c1 = Vector256.Load(c + 8); c2 = Vector256.Load(c + 16); c3 = Vector256.Load(c + 24); }
        else if (bias != null) { c0 = Vector256.Load(bias); c1 = Vector256.Load(bias + 8); c2 = Vector256.Load(bias + 16); c3 = Vector256.Load(bias + 24); }
        else c0 = c1 = c2 = c3 = Vector256<float>.Zero;
        for (int k = 0; k < kc; k++, b += ldb.Floats)
        {
            var x = Vector256.Create(a[k]);
            c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b), c0);
            c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 24), c3);
        }
        c0.Store(c); c1.Store(c + 8); c2.Store(c + 16); c3.Store(c + 24);
    }

    // ---------------------------------------------------------------- scalar: one row × 32 columns

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelScalar<TS>(float* a, float* b, TS ldb, int kc, float* c, bool load, float* bias) where TS : struct, IRowStride
    {
        float* acc = stackalloc float[NR];
        for (int j = 0; j < NR; j++) acc[j] = load ? c[j] : bias != null ? bias[j] : 0f;
        for (int k = 0; k < kc; k++, b += ldb.Floats)
        {
            float x = a[k];
            for (int j = 0; j < NR; j++) acc[j] = MathF.FusedMultiplyAdd(x, b[j], acc[j]);
        }
        for (int j = 0; j < NR; j++) c[j] = acc[j];
    }

    // ---------------------------------------------------------------- how far apart a panel's k rows are

    /// <summary>Floats from one k row of a panel to the next. A struct type, so each kernel is compiled once per kind.</summary>
    interface IRowStride { int Floats { get; } }

    /// <summary>Packed panels: 32, a constant in the compiled kernels.</summary>
    readonly struct PackedRows : IRowStride { public int Floats => NR; }

    /// <summary>B read in place: its row length.</summary>
    readonly struct RowStride(int floats) : IRowStride { public int Floats => floats; }
}
