namespace ModelVis.Tensors;

/// <summary>
/// B = Wᵀ for a float W [N, K] held row-major by the caller (an nn.Linear weight [out, in] while it trains, K when
/// scores are Q·Kᵀ), not packed beforehand: each product transposes the 32 rows of one panel at a time into the
/// buffer of the worker that multiplies them (<see cref="MatMul"/>).
/// </summary>
public sealed class TransposedMatrix : WeightMatrix
{
    readonly ReadOnlyMemory<float> _w;

    /// <param name="w">W row-major: row j (column j of B) holds K values, at <c>j × K</c>.</param>
    public TransposedMatrix(ReadOnlyMemory<float> w, int n, int k) : base(k, n)
    {
        if (w.Length < (long)n * k) throw new ArgumentException($"W has {w.Length} values, needs {n} × {k}");
        _w = w;
    }

    public override string Storage => "F32";
    public override long ResidentBytes => 0;

    public override void PackPanels(int firstPanel, int count, Span<float> destination)
    {
        var w = _w.Span;
        int k = K;
        for (int p = 0; p < count; p++)
        {
            int j0 = (firstPanel + p) * PanelWidth, width = Math.Min(PanelWidth, N - j0);
            StoredRowsMatrix.Transpose(w.Slice(j0 * k, width * k), width, k, destination.Slice(p * k * PanelWidth, k * PanelWidth));
        }
    }

    public override void CopyColumn(int j, Span<float> destination)
    {
        if ((uint)j >= (uint)N) throw new ArgumentOutOfRangeException(nameof(j));
        _w.Span.Slice(j * K, K).CopyTo(destination);
    }
}
