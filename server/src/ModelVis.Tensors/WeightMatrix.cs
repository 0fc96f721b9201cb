namespace ModelVis.Tensors;

/// <summary>
/// The right-hand operand B [K, N] of a product C = A·B, in whatever form a model keeps it: float32 panels packed
/// once (<see cref="PackedMatrix"/>), or rows of W = Bᵀ left in their stored precision (<see cref="StoredRowsMatrix"/>)
/// and widened panel by panel inside each product. The kernels only ever see float32 panels of 32 columns,
/// k-major (<c>panel[k * 32 + j]</c> = B[k, panelStart + j]), zero-padded past N.
/// </summary>
public abstract class WeightMatrix
{
    /// <summary>Columns per panel: two 512-bit vectors.</summary>
    public const int PanelWidth = 32;

    /// <summary>Rows of B (the inner dimension of the product).</summary>
    public int K { get; }
    /// <summary>Columns of B (the output width).</summary>
    public int N { get; }
    public int Panels { get; }

    protected WeightMatrix(int k, int n)
    {
        if (k <= 0 || n <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"a weight matrix needs positive sizes, got [{k}, {n}]");
        K = k;
        N = n;
        Panels = (n + PanelWidth - 1) / PanelWidth;
    }

    /// <summary>How the values are kept: "F32", "BF16", "Q4_K", … (what a person is told about the weights).</summary>
    public abstract string Storage { get; }

    /// <summary>Bytes this matrix holds in memory (0 when its values stay in the mapped file).</summary>
    public abstract long ResidentBytes { get; }

    /// <summary>Writes panels [<paramref name="firstPanel"/>, +<paramref name="count"/>) as float32 panels, each K × 32, into <paramref name="destination"/>.</summary>
    public abstract void PackPanels(int firstPanel, int count, Span<float> destination);

    /// <summary>Column j of B (row j of W: an embedding row when W is a token embedding).</summary>
    public abstract void CopyColumn(int j, Span<float> destination);
}
