using ModelVis.Tensors;

namespace ModelVis.Vision.Ops;

/// <summary>
/// ONNX Resize / Upsample on the two spatial axes of NCHW: nearest or (bi)linear, with the coordinate
/// transformation modes ONNX defines (half_pixel, pytorch_half_pixel, align_corners, asymmetric).
/// </summary>
public static class Resize
{
    public static NdArray Forward(NdArray x, int outH, int outW, float scaleH, float scaleW, string mode,
                                  string coordinateMode, string nearestMode)
    {
        if (x.Rank != 4) throw new VisionException($"Resize supports 4-D [N, C, H, W] inputs, got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var src = x.Floats;
        var dst = new float[n * c * outH * outW];
        var (ys0, ys1, yf) = Axis(h, outH, scaleH, mode, coordinateMode, nearestMode);
        var (xs0, xs1, xf) = Axis(w, outW, scaleW, mode, coordinateMode, nearestMode);
        Parallelism.ForEach(n * c, plane =>
        {
            int si = plane * h * w, di = plane * outH * outW;
            for (int oy = 0; oy < outH; oy++)
            for (int ox = 0; ox < outW; ox++)
            {
                float top = src[si + ys0[oy] * w + xs0[ox]] * (1 - xf[ox]) + src[si + ys0[oy] * w + xs1[ox]] * xf[ox];
                float bottom = src[si + ys1[oy] * w + xs0[ox]] * (1 - xf[ox]) + src[si + ys1[oy] * w + xs1[ox]] * xf[ox];
                dst[di + oy * outW + ox] = top * (1 - yf[oy]) + bottom * yf[oy];
            }
        });
        return NdArray.Of(dst, n, c, outH, outW);
    }

    /// <summary>For each output index along one axis: the two input indices to blend and the weight of the second.</summary>
    static (int[] I0, int[] I1, float[] Frac) Axis(int inSize, int outSize, float scale, string mode, string coordinateMode, string nearestMode)
    {
        var i0 = new int[outSize]; var i1 = new int[outSize]; var frac = new float[outSize];
        for (int o = 0; o < outSize; o++)
        {
            double src = coordinateMode switch
            {
                "half_pixel" => (o + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => outSize > 1 ? (o + 0.5) / scale - 0.5 : 0,
                "align_corners" => outSize > 1 ? o * (inSize - 1) / (double)(outSize - 1) : 0,
                "asymmetric" => o / (double)scale,
                "tf_half_pixel_for_nn" => (o + 0.5) / scale,
                _ => throw new VisionException($"Resize: coordinate_transformation_mode \"{coordinateMode}\" is not supported"),
            };
            if (mode == "nearest")
            {
                double r = nearestMode switch
                {
                    "round_prefer_floor" => src - Math.Floor(src) == 0.5 ? Math.Floor(src) : Math.Round(src),
                    "round_prefer_ceil" => src - Math.Floor(src) == 0.5 ? Math.Ceiling(src) : Math.Round(src),
                    "floor" => Math.Floor(src),
                    "ceil" => Math.Ceiling(src),
                    _ => throw new VisionException($"Resize: nearest_mode \"{nearestMode}\" is not supported"),
                };
                i0[o] = i1[o] = Math.Clamp((int)r, 0, inSize - 1);
            }
            else if (mode == "linear" || mode == "bilinear")
            {
                src = Math.Clamp(src, 0, inSize - 1);
                int lo = (int)Math.Floor(src);
                i0[o] = lo; i1[o] = Math.Min(lo + 1, inSize - 1); frac[o] = (float)(src - lo);
            }
            else throw new VisionException($"Resize: mode \"{mode}\" is not supported (nearest and linear are)");
        }
        return (i0, i1, frac);
    }
}
