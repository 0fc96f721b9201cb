namespace ModelVis.Tensors;

/// <summary>Decodes rows [<c>firstRow</c>, +<c>count</c>) of a stored matrix to float32, each row K values. Must be thread-safe.</summary>
public delegate void RowDecoder(int firstRow, int count, Span<float> destination);

/// <summary>Rows of W kept as stored: how many, how to decode them, and what the stored type is called.</summary>
public sealed record RowSegment(int Rows, RowDecoder Decode, string Storage);

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

    /// <summary>panel[k·32 + j] = rows[j·K + k]; columns past <paramref name="width"/> are zero. Blocked over k so the written lines stay in L1.</summary>
    static void Transpose(ReadOnlySpan<float> rows, int width, int k, Span<float> panel)
    {
        const int Block = 64;
        if (width < PanelWidth) panel.Clear();
        for (int k0 = 0; k0 < k; k0 += Block)
        {
            int kc = Math.Min(Block, k - k0);
            for (int j = 0; j < width; j++)
            {
                var src = rows.Slice(j * k + k0, kc);
                var dst = panel[(k0 * PanelWidth + j)..];
                for (int kk = 0; kk < kc; kk++) dst[kk * PanelWidth] = src[kk];
            }
        }
    }
}
