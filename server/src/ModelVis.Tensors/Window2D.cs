namespace ModelVis.Tensors;

/// <summary>
/// Padding and geometry shared by convolution and pooling over the two spatial axes of NCHW values (ONNX's and
/// PyTorch's conventions): the inference kernels (ModelVis.Vision) and the differentiable ones (ModelVis.Autodiff) use it.
/// </summary>
public readonly record struct Window2D(int KernelH, int KernelW, int StrideH = 1, int StrideW = 1, int DilationH = 1, int DilationW = 1,
                                       int PadTop = 0, int PadLeft = 0, int PadBottom = 0, int PadRight = 0, bool CeilMode = false)
{
    /// <summary>Output rows for <paramref name="h"/> input rows; 0 when the window does not fit (see <see cref="FitsIn"/>).</summary>
    public int OutH(int h) => OutSize(h, KernelH, StrideH, DilationH, PadTop, PadBottom);
    public int OutW(int w) => OutSize(w, KernelW, StrideW, DilationW, PadLeft, PadRight);

    /// <summary>Whether the (dilated) window fits an input of <paramref name="h"/> × <paramref name="w"/> with its padding.</summary>
    public bool FitsIn(int h, int w) => OutH(h) > 0 && OutW(w) > 0;

    int OutSize(int size, int kernel, int stride, int dilation, int padBegin, int padEnd)
    {
        int span = (kernel - 1) * dilation + 1;
        int numer = size + padBegin + padEnd - span;
        if (numer < 0) return 0;
        int o = CeilMode ? (numer + stride - 1) / stride + 1 : numer / stride + 1;
        // With ceil_mode the last window must start inside the (left-padded) input.
        if (CeilMode && (o - 1) * stride >= size + padBegin) o--;
        return o;
    }
}
