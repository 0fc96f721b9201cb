using System.Buffers;
using ModelVis.Tensors;

namespace ModelVis.Vision.Ops;

/// <summary>Windows of convolution and pooling nodes, from their ONNX attributes.</summary>
public static class WindowAttributes
{
    /// <summary>Builds the window from ONNX attributes: kernel_shape, strides, dilations, pads, auto_pad, ceil_mode.</summary>
    public static Window2D From(Graph.VisionNode node, int inH, int inW, int kernelH, int kernelW)
    {
        var strides = node.Ints("strides") ?? [1, 1];
        var dilations = node.Ints("dilations") ?? [1, 1];
        if (strides.Length != 2 || dilations.Length != 2) throw new VisionException($"{node.Describe}: only 2-D windows are supported (strides {strides.Length}-D)");
        int sh = (int)strides[0], sw = (int)strides[1], dh = (int)dilations[0], dw = (int)dilations[1];
        string autoPad = node.Str("auto_pad", "NOTSET");
        int pt, pl, pb, pr;
        switch (autoPad)
        {
            case "NOTSET":
                var pads = node.Ints("pads") ?? [0, 0, 0, 0];
                if (pads.Length != 4) throw new VisionException($"{node.Describe}: pads must have 4 values for a 2-D window, got {pads.Length}");
                (pt, pl, pb, pr) = ((int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3]);
                break;
            case "VALID":
                pt = pl = pb = pr = 0;
                break;
            case "SAME_UPPER":
            case "SAME_LOWER":
                // Output = ceil(input / stride); the odd pixel of padding goes to the end (UPPER) or the start (LOWER).
                int totalH = Math.Max(0, ((inH + sh - 1) / sh - 1) * sh + (kernelH - 1) * dh + 1 - inH);
                int totalW = Math.Max(0, ((inW + sw - 1) / sw - 1) * sw + (kernelW - 1) * dw + 1 - inW);
                bool upper = autoPad == "SAME_UPPER";
                pt = upper ? totalH / 2 : totalH - totalH / 2; pb = totalH - pt;
                pl = upper ? totalW / 2 : totalW - totalW / 2; pr = totalW - pl;
                break;
            default: throw new VisionException($"{node.Describe}: unknown auto_pad \"{autoPad}\"");
        }
        var window = new Window2D(kernelH, kernelW, sh, sw, dh, dw, pt, pl, pb, pr, node.Int("ceil_mode", 0) != 0);
        if (!window.FitsIn(inH, inW))
            throw new VisionException($"{node.Describe}: a {kernelH}×{kernelW} window (dilation {dh}×{dw}) does not fit an input of {inH}×{inW} with padding {pt}+{pb}, {pl}+{pr}");
        return window;
    }
}

/// <summary>2-D convolution (NCHW), grouped and dilated, as im2col followed by one matrix product per group (<see cref="MatMul"/>).</summary>
public static class Conv
{
    /// <param name="x">[N, C, H, W]</param>
    /// <param name="weight">[M, C/groups, kH, kW]</param>
    /// <param name="bias">[M] or null</param>
    public static NdArray Forward(NdArray x, NdArray weight, NdArray? bias, Window2D win, int groups)
    {
        if (x.Rank != 4) throw new VisionException($"Conv expects a 4-D input [N, C, H, W], got {x.ShapeString}");
        if (weight.Rank != 4) throw new VisionException($"Conv expects 4-D filters [M, C/groups, kH, kW], got {weight.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int m = weight.Shape[0], cg = weight.Shape[1];
        if (groups < 1 || c % groups != 0 || m % groups != 0 || cg != c / groups)
            throw new VisionException($"Conv: input has {c} channels, filters {weight.ShapeString}, group {groups}: these do not fit together");
        if (bias != null && bias.Length != m) throw new VisionException($"Conv: bias has {bias.Length} values for {m} output channels");
        if (!win.FitsIn(h, w)) throw new VisionException($"Conv: a {win.KernelH}×{win.KernelW} window does not fit an input of {h}×{w} with its padding");
        int oh = win.OutH(h), ow = win.OutW(w), p = oh * ow;
        int mg = m / groups, k = cg * win.KernelH * win.KernelW;

        var input = x.Floats;
        var filters = weight.Floats;
        var biasValues = bias?.Floats;
        var output = new float[checked(n * m * p)];
        bool pointwise = win.KernelH == 1 && win.KernelW == 1 && win.StrideH == 1 && win.StrideW == 1
                         && win.PadTop == 0 && win.PadLeft == 0 && win.PadBottom == 0 && win.PadRight == 0;

        void RunGroup(int batch, int g)
        {
            int inOffset = (batch * c + g * cg) * h * w;
            ReadOnlyMemory<float> cols;
            float[]? rented = null;
            if (pointwise) cols = input.AsMemory(inOffset, cg * p); // a 1×1 conv reads the input as it is
            else
            {
                rented = ArrayPool<float>.Shared.Rent(k * p);
                Im2Col(input.AsSpan(inOffset, cg * h * w), cg, h, w, win, oh, ow, rented);
                cols = rented.AsMemory(0, k * p);
            }
            // C [mg, p] = filters [mg, k] · cols [k, p], started from the bias of each output channel.
            var y = output.AsSpan((batch * m + g * mg) * p, mg * p);
            if (biasValues != null)
                for (int o = 0; o < mg; o++) y.Slice(o * p, p).Fill(biasValues[g * mg + o]);
            MatMul.Multiply(filters.AsSpan(g * mg * k, mg * k), mg, new RowMajorMatrix(cols, k, p), y, accumulate: biasValues != null);
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }

        // One group per worker when there are several; otherwise the product itself runs on every core.
        Parallelism.ForEach(n * groups, i => RunGroup(i / groups, i % groups));
        return NdArray.Of(output, n, m, oh, ow);
    }

    /// <summary>
    /// Unfolds the input so that row (ci, ky, kx) holds, for every output pixel, the input value under that filter tap
    /// (0 in the padding).
    /// </summary>
    static void Im2Col(ReadOnlySpan<float> x, int channels, int h, int w, Window2D win, int oh, int ow, Span<float> cols)
    {
        int row = 0;
        for (int ci = 0; ci < channels; ci++)
        {
            var plane = x.Slice(ci * h * w, h * w);
            for (int ky = 0; ky < win.KernelH; ky++)
            for (int kx = 0; kx < win.KernelW; kx++, row++)
            {
                var dst = cols.Slice(row * oh * ow, oh * ow);
                int dx = kx * win.DilationW - win.PadLeft;
                // Output columns whose input column lies inside the image: ox in [x0, x1).
                int x0 = dx >= 0 ? 0 : (-dx + win.StrideW - 1) / win.StrideW;
                int x1 = Math.Min(ow, w - dx <= 0 ? 0 : (w - dx - 1) / win.StrideW + 1);
                if (x1 < x0) x1 = x0;
                for (int oy = 0; oy < oh; oy++)
                {
                    var line = dst.Slice(oy * ow, ow);
                    int iy = oy * win.StrideH + ky * win.DilationH - win.PadTop;
                    if ((uint)iy >= (uint)h) { line.Clear(); continue; }
                    var src = plane.Slice(iy * w, w);
                    line[..x0].Clear();
                    if (win.StrideW == 1) src.Slice(x0 + dx, x1 - x0).CopyTo(line[x0..x1]);
                    else for (int ox = x0; ox < x1; ox++) line[ox] = src[ox * win.StrideW + dx];
                    line[x1..].Clear();
                }
            }
        }
    }
}
