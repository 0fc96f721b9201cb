using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelVis.Tensors;

/// <summary>Decodes rows [<c>firstRow</c>, +<c>count</c>) of a stored matrix to float32, each row K values. Must be thread-safe.</summary>
public delegate void RowDecoder(int firstRow, int count, Span<float> destination);

/// <summary>Copies the stored bytes of rows [<c>firstRow</c>, +<c>count</c>) as they are (an accelerator decodes them itself).</summary>
public delegate void RowBytesReader(int firstRow, int count, Span<byte> destination);

/// <summary>
/// Rows of W kept as stored: how many, how to decode them, what the stored type is called, and — where the storage
/// allows — each row's byte length and a reader of the raw bytes.
/// </summary>
public sealed record RowSegment(int Rows, RowDecoder Decode, string Storage, long BytesPerRow = 0, RowBytesReader? ReadBytes = null);

/// <summary>
/// B = Wᵀ for a weight W [N, K] (an nn.Linear weight stored [out, in], or an embedding table) whose rows stay in
/// their stored precision — BF16, F16 or block-quantized, read from the checkpoint (memory-mapped or paged in by
/// the OS) — and are widened to float32 only inside a product, 32 rows (one panel) at a time, in a buffer that
/// lives in cache. A 1 B model in BF16 thus costs its file size, not twice it in float32, and opening it reads
/// nothing but the header. Several weights that share an input (q|k|v, gate|up) sit side by side as segments.
/// </summary>
public sealed class StoredRowsMatrix : WeightMatrix
{
    readonly RowSegment[] _segments;
    readonly int[] _firstRows;

    [ThreadStatic] static float[]? t_rows;

    public StoredRowsMatrix(int k, params RowSegment[] segments) : base(k, segments.Sum(s => s.Rows))
    {
        _segments = segments;
        _firstRows = new int[segments.Length];
        for (int i = 1; i < segments.Length; i++) _firstRows[i] = _firstRows[i - 1] + segments[i - 1].Rows;
        Storage = string.Join("+", segments.Select(s => s.Storage).Distinct());
    }

    public override string Storage { get; }
    public override long ResidentBytes => 0;

    /// <summary>The segments side by side, in column order.</summary>
    public IReadOnlyList<RowSegment> Segments => _segments;

    /// <summary>Rows [first, first + count) of W decoded to float32, across segment boundaries.</summary>
    public void DecodeRows(int first, int count, Span<float> destination)
    {
        int s = Array.BinarySearch(_firstRows, first);
        if (s < 0) s = ~s - 1;
        while (count > 0)
        {
            int local = first - _firstRows[s], take = Math.Min(count, _segments[s].Rows - local);
            _segments[s].Decode(local, take, destination[..(take * K)]);
            destination = destination[(take * K)..];
            first += take;
            count -= take;
            s++;
        }
    }

    public override void CopyColumn(int j, Span<float> destination)
    {
        if ((uint)j >= (uint)N) throw new ArgumentOutOfRangeException(nameof(j));
        DecodeRows(j, 1, destination[..K]);
    }

    public override void PackPanels(int firstPanel, int count, Span<float> destination)
    {
        int k = K;
        var rows = t_rows is { } r && r.Length >= PanelWidth * k ? r : t_rows = new float[PanelWidth * k];
        for (int p = 0; p < count; p++)
        {
            int j0 = (firstPanel + p) * PanelWidth, width = Math.Min(PanelWidth, N - j0);
            DecodeRows(j0, width, rows);
            Transpose(rows, width, k, destination.Slice(p * k * PanelWidth, k * PanelWidth));
        }
    }

    /// <summary>panel[k·32 + j] = rows[j·K + k]; columns past <paramref name="width"/> are zero.</summary>
    internal static unsafe void Transpose(ReadOnlySpan<float> rows, int width, int k, Span<float> panel)
    {
        if (panel.Length < k * PanelWidth || rows.Length < width * k) throw new ArgumentException("transpose buffers are too small");
        int k0 = 0;
        fixed (float* src = rows)
        fixed (float* dst = panel)
        {
            if (Avx512F.IsSupported)
                for (; k0 + 16 <= k; k0 += 16)
                {
                    Transpose16x16(src, k, k0, 0, Math.Min(16, width), dst + (long)k0 * PanelWidth);
                    Transpose16x16(src, k, k0, 16, Math.Max(0, width - 16), dst + (long)k0 * PanelWidth + 16);
                }
            // The rest of k (all of it without AVX-512): element by element.
            for (; k0 < k; k0++)
            {
                float* row = dst + (long)k0 * PanelWidth;
                for (int j = 0; j < width; j++) row[j] = src[(long)j * k + k0];
                for (int j = width; j < PanelWidth; j++) row[j] = 0;
            }
        }
    }

    /// <summary>
    /// Rows firstRow.. (<paramref name="count"/> of them, the rest zero) × columns k0..k0+15 of <paramref name="src"/>,
    /// transposed into 16 rows of the panel (stride 32): interleave 32-bit, then 64-bit elements within 128-bit lanes,
    /// then move 128-bit lanes twice. 64 shuffles for 256 values instead of 256 strided stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Transpose16x16(float* src, int k, int k0, int firstRow, int count, float* dst)
    {
        var r = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < count ? Vector512.Load(src + (long)(firstRow + i) * k + k0) : Vector512<float>.Zero;
        var t = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i += 2)
        {
            t[i] = Avx512F.UnpackLow(r[i], r[i + 1]);
            t[i + 1] = Avx512F.UnpackHigh(r[i], r[i + 1]);
        }
        for (int i = 0; i < 16; i += 4)
        {
            r[i] = Avx512F.Shuffle(t[i], t[i + 2], 0x44);
            r[i + 1] = Avx512F.Shuffle(t[i], t[i + 2], 0xEE);
            r[i + 2] = Avx512F.Shuffle(t[i + 1], t[i + 3], 0x44);
            r[i + 3] = Avx512F.Shuffle(t[i + 1], t[i + 3], 0xEE);
        }
        for (int h = 0; h < 16; h += 8)
            for (int i = 0; i < 4; i++)
            {
                t[h + i] = Avx512F.Shuffle4x128(r[h + i], r[h + 4 + i], 0x88);
                t[h + 4 + i] = Avx512F.Shuffle4x128(r[h + i], r[h + 4 + i], 0xDD);
            }
        for (int i = 0; i < 8; i++)
        {
            // t[i] holds columns i (lanes 0, 1) and i + 8 (lanes 2, 3) of rows 0–7; t[i + 8] the same of rows 8–15.
            Avx512F.Shuffle4x128(t[i], t[i + 8], 0x88).Store(dst + (long)i * PanelWidth);
            Avx512F.Shuffle4x128(t[i], t[i + 8], 0xDD).Store(dst + (long)(i + 8) * PanelWidth);
        }
    }
}
