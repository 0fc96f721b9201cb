using ModelVis.Tensors;

namespace ModelVis.Vision.Ops;

/// <summary>Max and average pooling over the two spatial axes of NCHW, plus global and adaptive averages.</summary>
public static class Pooling
{
    public static NdArray Max(NdArray x, Window2D win) => Pool(x, win, isMax: true, countIncludePad: false);

    public static NdArray Average(NdArray x, Window2D win, bool countIncludePad) => Pool(x, win, isMax: false, countIncludePad);

    static NdArray Pool(NdArray x, Window2D win, bool isMax, bool countIncludePad)
    {
        if (x.Rank != 4) throw new VisionException($"pooling expects a 4-D input [N, C, H, W], got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        if (!win.FitsIn(h, w)) throw new VisionException($"pooling: a {win.KernelH}×{win.KernelW} window does not fit an input of {h}×{w} with its padding");
        int oh = win.OutH(h), ow = win.OutW(w);
        var src = x.Floats;
        var dst = new float[n * c * oh * ow];
        Parallelism.ForEach(n * c, plane =>
        {
            var input = src.AsSpan(plane * h * w, h * w);
            var output = dst.AsSpan(plane * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                int y0 = oy * win.StrideH - win.PadTop, x0 = ox * win.StrideW - win.PadLeft;
                float best = float.NegativeInfinity, sum = 0;
                int count = 0, padded = 0;
                for (int ky = 0; ky < win.KernelH; ky++)
                {
                    int iy = y0 + ky * win.DilationH;
                    for (int kx = 0; kx < win.KernelW; kx++)
                    {
                        int ix = x0 + kx * win.DilationW;
                        if ((uint)iy >= (uint)h || (uint)ix >= (uint)w)
                        {
                            // Positions in the explicit padding count for count_include_pad; those past it (ceil_mode) never do.
                            if (iy < h + win.PadBottom && ix < w + win.PadRight) padded++;
                            continue;
                        }
                        float v = input[iy * w + ix];
                        if (v > best || float.IsNaN(v)) best = v;
                        sum += v;
                        count++;
                    }
                }
                output[oy * ow + ox] = isMax ? best : count == 0 ? 0 : sum / (countIncludePad ? count + padded : count);
            }
        });
        return NdArray.Of(dst, n, c, oh, ow);
    }

    /// <summary>Mean over all spatial positions: [N, C, ...] → [N, C, 1, 1].</summary>
    public static NdArray GlobalAverage(NdArray x) => Global(x, max: false);
    public static NdArray GlobalMax(NdArray x) => Global(x, max: true);

    static NdArray Global(NdArray x, bool max)
    {
        if (x.Rank < 3) throw new VisionException($"global pooling expects [N, C, spatial...], got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], size = x.Length / (n * c);
        var src = x.Floats;
        var dst = new float[n * c];
        for (int i = 0; i < n * c; i++)
        {
            var plane = src.AsSpan(i * size, size);
            dst[i] = max ? System.Numerics.Tensors.TensorPrimitives.Max(plane) : (float)(SumDouble(plane) / size);
        }
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = n; shape[1] = c;
        return NdArray.Of(dst, shape);
    }

    static double SumDouble(ReadOnlySpan<float> s)
    {
        double sum = 0;
        foreach (var v in s) sum += v;
        return sum;
    }

    /// <summary>PyTorch's AdaptiveAvgPool2d: output cell (i, j) averages rows [floor(i·H/oh), ceil((i+1)·H/oh)).</summary>
    public static NdArray AdaptiveAverage(NdArray x, int oh, int ow)
    {
        if (x.Rank != 4) throw new VisionException($"adaptive pooling expects [N, C, H, W], got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var src = x.Floats;
        var dst = new float[n * c * oh * ow];
        for (int plane = 0; plane < n * c; plane++)
            for (int i = 0; i < oh; i++)
            {
                int y0 = i * h / oh, y1 = ((i + 1) * h + oh - 1) / oh;
                for (int j = 0; j < ow; j++)
                {
                    int x0 = j * w / ow, x1 = ((j + 1) * w + ow - 1) / ow;
                    double sum = 0;
                    for (int y = y0; y < y1; y++)
                        for (int xx = x0; xx < x1; xx++) sum += src[plane * h * w + y * w + xx];
                    dst[(plane * oh + i) * ow + j] = (float)(sum / ((y1 - y0) * (x1 - x0)));
                }
            }
        return NdArray.Of(dst, n, c, oh, ow);
    }
}
