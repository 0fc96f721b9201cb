namespace ModelVis.Tensors;

/// <summary>
/// B [K, N] as the caller holds it, row-major floats (an im2col matrix, a weight in a backward pass, V), not packed
/// beforehand: <see cref="MatMul"/> reads its whole panels where they are (32 consecutive floats of each row, one
/// row stride apart) and packs only a last partial panel, so a matrix used once is not copied.
/// </summary>
public sealed class RowMajorMatrix : WeightMatrix
{
    readonly ReadOnlyMemory<float> _b;

    /// <summary>B row-major, as given.</summary>
    internal ReadOnlyMemory<float> Values => _b;

    /// <param name="b">B row-major: row k holds B[k, 0..N), at <c>k × N</c>.</param>
    public RowMajorMatrix(ReadOnlyMemory<float> b, int k, int n) : base(k, n)
    {
        if (b.Length < (long)k * n) throw new ArgumentException($"B has {b.Length} values, needs {k} × {n}");
        _b = b;
    }

    public override string Storage => "F32";
    public override long ResidentBytes => 0;

    /// <summary>panel[k·32 + j] = B[k, panelStart + j]: 32-column slices of each row, zero past N.</summary>
    public override void PackPanels(int firstPanel, int count, Span<float> destination)
    {
        var b = _b.Span;
        int k = K, n = N;
        for (int p = 0; p < count; p++)
        {
            int j0 = (firstPanel + p) * PanelWidth, width = Math.Min(PanelWidth, n - j0);
            var panel = destination.Slice(p * k * PanelWidth, k * PanelWidth);
            if (width == PanelWidth)
                for (int r = 0; r < k; r++) b.Slice(r * n + j0, PanelWidth).CopyTo(panel.Slice(r * PanelWidth, PanelWidth));
            else
                for (int r = 0; r < k; r++)
                {
                    var row = panel.Slice(r * PanelWidth, PanelWidth);
                    b.Slice(r * n + j0, width).CopyTo(row);
                    row[width..].Clear();
                }
        }
    }

    public override void CopyColumn(int j, Span<float> destination)
    {
        if ((uint)j >= (uint)N) throw new ArgumentOutOfRangeException(nameof(j));
        var b = _b.Span;
        for (int r = 0; r < K; r++) destination[r] = b[r * N + j];
    }
}
