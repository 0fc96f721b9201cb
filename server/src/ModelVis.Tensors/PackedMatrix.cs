using System.Runtime.CompilerServices;

namespace ModelVis.Tensors;

/// <summary>
/// The right-hand operand B [K, N] of a matrix product, rearranged once so the micro-kernel reads it
/// contiguously: column panels of <see cref="PanelWidth"/> columns, each stored k-major
/// (<c>panel[k * 32 + j]</c> = B[k, panelStart + j]). The last panel is zero-padded. Model weights never
/// change, so they are packed when the model loads and every forward pass reuses them.
/// The array is pinned, so kernels can hold raw pointers into it from several threads.
/// </summary>
public sealed class PackedMatrix : WeightMatrix
{
    internal readonly float[] Data;

    public PackedMatrix(int k, int n) : base(k, n) =>
        Data = GC.AllocateArray<float>(checked(Panels * k * PanelWidth), pinned: true);

    public override string Storage => "F32";
    public override long ResidentBytes => (long)Data.Length * sizeof(float);

    public override void PackPanels(int firstPanel, int count, Span<float> destination) =>
        Data.AsSpan(PanelOffset(firstPanel), count * K * PanelWidth).CopyTo(destination);

    /// <summary>Packs B [k, n] given row-major (e.g. a Conv1D weight stored [in, out], or V).</summary>
    public static PackedMatrix FromRowMajor(ReadOnlySpan<float> b, int k, int n)
    {
        var p = new PackedMatrix(k, n);
        p.SetRows(0, b);
        return p;
    }

    /// <summary>Packs B = Wᵀ from W [n, k] row-major (an nn.Linear weight stored [out, in], or an embedding table).</summary>
    public static PackedMatrix FromTransposed(ReadOnlySpan<float> w, int n, int k)
    {
        var p = new PackedMatrix(k, n);
        p.SetColumns(0, w);
        return p;
    }

    /// <summary>Fills rows <paramref name="firstRow"/>.. of B from row-major data (whole rows of N values).</summary>
    public void SetRows(int firstRow, ReadOnlySpan<float> rows)
    {
        if (rows.Length % N != 0 || firstRow + rows.Length / N > K) throw new ArgumentException("rows do not fit the packed matrix");
        int count = rows.Length / N;
        for (int r = 0; r < count; r++)
        {
            int k = firstRow + r;
            var src = rows.Slice(r * N, N);
            for (int p = 0; p < Panels; p++)
            {
                int j0 = p * PanelWidth, width = Math.Min(PanelWidth, N - j0);
                src.Slice(j0, width).CopyTo(Data.AsSpan(PanelOffset(p) + k * PanelWidth, width));
            }
        }
    }

    /// <summary>Fills columns <paramref name="firstColumn"/>.. of B from rows of W (each row of W is a column of B, K values).</summary>
    public void SetColumns(int firstColumn, ReadOnlySpan<float> wRows)
    {
        if (wRows.Length % K != 0 || firstColumn + wRows.Length / K > N) throw new ArgumentException("columns do not fit the packed matrix");
        int count = wRows.Length / K;
        for (int c = 0; c < count; c++)
        {
            int j = firstColumn + c;
            int baseIndex = PanelOffset(j / PanelWidth) + j % PanelWidth;
            var src = wRows.Slice(c * K, K);
            for (int k = 0; k < K; k++) Data[baseIndex + k * PanelWidth] = src[k];
        }
    }

    /// <summary>Copies column j of B (= row j of W when packed from W) into <paramref name="destination"/> [K]: an embedding lookup.</summary>
    public override void CopyColumn(int j, Span<float> destination)
    {
        if ((uint)j >= (uint)N) throw new ArgumentOutOfRangeException(nameof(j));
        int baseIndex = PanelOffset(j / PanelWidth) + j % PanelWidth;
        for (int k = 0; k < K; k++) destination[k] = Data[baseIndex + k * PanelWidth];
    }

    /// <summary>B[k, j].</summary>
    public float this[int k, int j] => Data[PanelOffset(j / PanelWidth) + k * PanelWidth + j % PanelWidth];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int PanelOffset(int panel) => panel * K * PanelWidth;
}
