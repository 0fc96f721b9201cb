namespace ModelVis.Tensors;

/// <summary>
/// y = x·W + b for a batch of rows: the weight packed once (<see cref="PackedMatrix"/>) or kept as stored (<see cref="StoredRowsMatrix"/>), the bias kept padded to
/// whole panels so the micro-kernel can start its accumulators from it.
/// </summary>
public sealed class Linear
{
    public WeightMatrix Weight { get; }
    /// <summary>The bias padded with zeros to <c>Weight.Panels × 32</c> values, or null.</summary>
    public float[]? PaddedBias { get; }

    public int InFeatures => Weight.K;
    public int OutFeatures => Weight.N;

    public Linear(WeightMatrix weight, ReadOnlySpan<float> bias = default)
    {
        Weight = weight;
        if (!bias.IsEmpty)
        {
            if (bias.Length != weight.N) throw new ArgumentException($"bias has {bias.Length} values, the layer has {weight.N} outputs");
            PaddedBias = new float[weight.Panels * WeightMatrix.PanelWidth];
            bias.CopyTo(PaddedBias);
        }
    }

    /// <summary>y [rows, Out] = x [rows, In] · W + b.</summary>
    public void Forward(ReadOnlySpan<float> x, int rows, Span<float> y) =>
        MatMul.Multiply(x, rows, Weight, y, PaddedBias);

    public float[] Forward(ReadOnlySpan<float> x, int rows)
    {
        var y = new float[rows * OutFeatures];
        Forward(x, rows, y);
        return y;
    }
}
