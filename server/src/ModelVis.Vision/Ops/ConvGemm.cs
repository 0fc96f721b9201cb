using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelVis.Vision.Ops;

/// <summary>
/// The product behind a convolution: C[M×P] = A[M×K] · B[K×P] (+ bias per row), with A the filters
/// (one row per output channel) and B the im2col matrix (one row per filter tap, one column per output pixel).
/// A tile of 4 output channels × 32 pixels lives in eight 512-bit accumulators; each step of K loads two vectors
/// of B and broadcasts four weights. Tiles run in parallel.
/// Written here rather than in ModelVis.Tensors because the conv layout (B changes every call, C is
/// channel-major) does not fit the packed-weights matmul there.
/// </summary>
public static unsafe class ConvGemm
{
    const int TileM = 4, TileP = 32;
    /// <summary>Pixels per parallel work item: enough work to outweigh scheduling, few enough to balance two cores.</summary>
    const int BlockP = 256;

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int p, ReadOnlySpan<float> bias, bool parallel)
    {
        if (a.Length < m * k || b.Length < k * p || c.Length < m * p) throw new ArgumentException("conv gemm: buffer too small");
        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
        {
            var job = new Job { A = pa, B = pb, C = pc, Bias = bias.IsEmpty ? null : pbias, M = m, K = k, P = p };
            int blocksP = (p + BlockP - 1) / BlockP;
            int blocksM = (m + 15) / 16;
            int items = blocksP * blocksM;
            if (!parallel || items == 1 || (long)m * k * p < 1 << 16)
            {
                job.Run(0, m, 0, p);
                return;
            }
            Parallel.For(0, items, item =>
            {
                int bm = item / blocksP, bp = item % blocksP;
                job.Run(bm * 16, Math.Min(m, bm * 16 + 16), bp * BlockP, Math.Min(p, bp * BlockP + BlockP));
            });
        }
    }

    struct Job
    {
        public float* A, B, C, Bias;
        public int M, K, P;

        public readonly void Run(int m0, int m1, int p0, int p1)
        {
            int p = p0;
            for (; p + TileP <= p1; p += TileP)
            {
                int m = m0;
                for (; m + TileM <= m1; m += TileM) Tile4x32(m, p);
                for (; m < m1; m++) Row(m, p, TileP);
            }
            if (p < p1)
                for (int m = m0; m < m1; m++) Row(m, p, p1 - p);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        readonly void Tile4x32(int m, int p)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default,
                             c20 = default, c21 = default, c30 = default, c31 = default;
            float* a0 = A + (long)m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
            float* b = B + p;
            for (int k = 0; k < K; k++, b += P)
            {
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
                var w = Vector512.Create(a0[k]);
                c00 = Vector512.FusedMultiplyAdd(w, b0, c00); c01 = Vector512.FusedMultiplyAdd(w, b1, c01);
                w = Vector512.Create(a1[k]);
                c10 = Vector512.FusedMultiplyAdd(w, b0, c10); c11 = Vector512.FusedMultiplyAdd(w, b1, c11);
                w = Vector512.Create(a2[k]);
                c20 = Vector512.FusedMultiplyAdd(w, b0, c20); c21 = Vector512.FusedMultiplyAdd(w, b1, c21);
                w = Vector512.Create(a3[k]);
                c30 = Vector512.FusedMultiplyAdd(w, b0, c30); c31 = Vector512.FusedMultiplyAdd(w, b1, c31);
            }
            Store(m, p, c00, c01);
            Store(m + 1, p, c10, c11);
            Store(m + 2, p, c20, c21);
            Store(m + 3, p, c30, c31);
        }

        readonly void Store(int m, int p, Vector512<float> lo, Vector512<float> hi)
        {
            float* c = C + (long)m * P + p;
            if (Bias != null)
            {
                var bias = Vector512.Create(Bias[m]);
                lo += bias; hi += bias;
            }
            lo.Store(c);
            hi.Store(c + 16);
        }

        /// <summary>One output channel over <paramref name="width"/> pixels (tails of the tiling).</summary>
        readonly void Row(int m, int p, int width)
        {
            float* a = A + (long)m * K;
            float* c = C + (long)m * P + p;
            float bias = Bias != null ? Bias[m] : 0f;
            int x = 0;
            for (; x + 16 <= width; x += 16)
            {
                var acc = Vector512<float>.Zero;
                float* b = B + p + x;
                for (int k = 0; k < K; k++, b += P) acc = Vector512.FusedMultiplyAdd(Vector512.Create(a[k]), Vector512.Load(b), acc);
                (acc + Vector512.Create(bias)).Store(c + x);
            }
            for (; x < width; x++)
            {
                float acc = 0;
                float* b = B + p + x;
                for (int k = 0; k < K; k++, b += P) acc = MathF.FusedMultiplyAdd(a[k], *b, acc);
                c[x] = acc + bias;
            }
        }
    }
}
