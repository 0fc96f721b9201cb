namespace ModelVis.Tensors;

/// <summary>
/// Where a model's heavy work runs: the products with its weight matrices, attention, and a rotary decoder's attention
/// and gated-MLP sublayers whole. The CPU device runs the kernels of this library; an accelerator (ModelVis.Gpu) uploads
/// each weight matrix once when the model loads (<see cref="Place"/>) and runs these there, while the steps between
/// them (block norms, residual adds) stay with the family code on the CPU.
/// </summary>
public class ComputeDevice
{
    /// <summary>This library's SIMD kernels on every core.</summary>
    public static ComputeDevice Cpu { get; } = new();

    protected ComputeDevice() { }

    /// <summary>What a person is told about the device ("cpu", "cuda: NVIDIA H100 80GB HBM3").</summary>
    public virtual string Name => "cpu";

    /// <summary>Bytes free for weights on the device, or null where the question does not arise (the CPU: the memory budget checks each pass).</summary>
    public virtual long? FreeBytes => null;

    /// <summary>The matrix as this device multiplies by it: uploaded once (a <see cref="DeviceMatrix"/>), or as it is.</summary>
    public virtual WeightMatrix Place(WeightMatrix matrix) => matrix;

    /// <summary>
    /// A gated MLP, <paramref name="output"/> [n, d] = down(act(gate(x)) · up(x)), gate | up one product into
    /// <paramref name="gateUp"/> [n, 2I] and the middle into <paramref name="activations"/> [n, I] (which a device fills
    /// only when <paramref name="keepActivations"/>). <paramref name="output"/> may be <paramref name="x"/>.
    /// </summary>
    /// <param name="onGateUp">Sees (and may change) the gate | up rows before the activation; a device then runs the CPU's way.</param>
    public virtual void GatedMlp(ReadOnlySpan<float> x, int n, Linear gateUpProjection, Linear down, string activation,
        float[] gateUp, float[] activations, bool keepActivations, Action<float[]>? onGateUp, Span<float> output)
    {
        int width = down.InFeatures;
        gateUpProjection.Forward(x, n, gateUp);
        onGateUp?.Invoke(gateUp);
        Activations.Gate(activation, gateUp, n, width, activations);
        down.Forward(activations, n, output);
    }

    /// <summary>
    /// A rotary decoder's attention sublayer (<see cref="RotaryAttention"/>): <paramref name="output"/> from <paramref name="x"/>
    /// (which may be the same buffer), probabilities [heads, n, n] written when not empty. <paramref name="qkv"/> and
    /// <paramref name="context"/> are work buffers; <paramref name="onHeadOutputs"/> sees the heads' outputs before o_proj
    /// (a device then runs the CPU's way).
    /// </summary>
    public virtual void SelfAttention(RotaryAttention attention, ReadOnlySpan<float> x, int n, float[] qkv, float[] context,
        Span<float> probabilities, Action<float[]>? onHeadOutputs, Span<float> output) =>
        attention.Run(x, n, qkv, context, probabilities, onHeadOutputs, output);

    /// <summary>Self-attention over one sequence's projected rows; the arguments are <see cref="Attention.Compute(ReadOnlySpan{float}, int, int, int, int, int, int, int, int, float, AttentionMask, Span{float}, Span{float}, float, int, ReadOnlySpan{float})"/>'s.</summary>
    public void Attend(ReadOnlySpan<float> qkv, int n, int rowStride, int qOffset, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, float scaleDivisor, AttentionMask mask, Span<float> context, Span<float> probabilities,
        float softCap = 0, int headStride = 0, ReadOnlySpan<float> relativeBias = default) =>
        Attend(qkv, n, rowStride, qOffset, qkv, n, rowStride, kOffset, vOffset, heads, kvHeads, headDim, scaleDivisor, mask,
            context, probabilities, relativeBias, softCap, headStride);

    /// <summary>Attention of query rows over key/value rows (the same or another sequence), as <see cref="Attention.Compute(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, int, int, int, int, int, int, int, float, AttentionMask, Span{float}, Span{float}, ReadOnlySpan{float}, float, int)"/> defines it.</summary>
    public virtual void Attend(ReadOnlySpan<float> q, int nq, int qStride, int qOffset,
        ReadOnlySpan<float> kv, int nk, int kvStride, int kOffset, int vOffset,
        int heads, int kvHeads, int headDim, float scaleDivisor, AttentionMask mask, Span<float> context, Span<float> probabilities,
        ReadOnlySpan<float> relativeBias = default, float softCap = 0, int headStride = 0) =>
        Attention.Compute(q, nq, qStride, qOffset, kv, nk, kvStride, kOffset, vOffset, heads, kvHeads, headDim, scaleDivisor, mask,
            context, probabilities, relativeBias, softCap, headStride);
}

/// <summary>
/// A weight matrix that lives on an accelerator: <see cref="MatMul.Multiply"/> hands products with it to
/// <see cref="Multiply"/>. Column reads (embedding rows, a head's W_O slice) come from the host matrix it was made from.
/// </summary>
public abstract class DeviceMatrix(WeightMatrix host) : WeightMatrix(host.K, host.N)
{
    /// <summary>The matrix as the CPU holds it (for F16/BF16/GGUF weights: the rows left in the mapped checkpoint).</summary>
    public WeightMatrix Host => host;

    public override long ResidentBytes => host.ResidentBytes;
    public override void PackPanels(int firstPanel, int count, Span<float> destination) => host.PackPanels(firstPanel, count, destination);
    public override void CopyColumn(int j, Span<float> destination) => host.CopyColumn(j, destination);

    /// <summary>Bytes the matrix takes in the accelerator's memory.</summary>
    public abstract long DeviceBytes { get; }

    /// <summary>C [m, N] = A [m, K] · B + bias, or C += A · B when <paramref name="accumulate"/> (arguments checked by the caller).</summary>
    public abstract void Multiply(ReadOnlySpan<float> a, int m, Span<float> c, ReadOnlySpan<float> paddedBias, bool accumulate);
}
