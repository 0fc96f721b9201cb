namespace ModelVis.Vision.Images;

/// <summary>
/// How a picture becomes the model's input tensor [1, C, H, W]: resized to H×W (bilinear, with a widened
/// filter when shrinking so small details average rather than alias), converted to grey or RGB, then
/// x = (pixel / PixelScale − Mean[c]) / Std[c], every step in float32.
/// </summary>
public sealed record Preprocessing(int Channels, int Height, int Width, float[] Mean, float[] Std, float PixelScale = 255f)
{
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>Defaults when nothing is known about the model: grey in 0..1, or RGB with ImageNet statistics.</summary>
    public static Preprocessing DefaultFor(int channels, int height, int width) => channels == 1
        ? new Preprocessing(1, height, width, [0f], [1f])
        : new Preprocessing(3, height, width, ImageNetMean, ImageNetStd);

    public string Describe => $"{(Channels == 1 ? "grey" : "RGB")} {Width}×{Height}, x = (pixel/{PixelScale:G} − [{string.Join(", ", Mean)}]) / [{string.Join(", ", Std)}]";

    public void Validate()
    {
        if (Channels is not (1 or 3)) throw new VisionException($"the model takes {Channels} input channels; only grey (1) and RGB (3) images are supported");
        if (Height <= 0 || Width <= 0) throw new VisionException($"input size {Width}×{Height} is invalid");
        if (Mean.Length is not 1 && Mean.Length != Channels || Std.Length is not 1 && Std.Length != Channels)
            throw new VisionException($"mean/std need 1 or {Channels} values (got {Mean.Length} and {Std.Length})");
        if (Std.Any(s => s == 0)) throw new VisionException("std must not be 0");
    }

    public NdArray Apply(ImagePixels image)
    {
        image.Validate();
        Validate();
        var planes = ToPlanes(image, Channels);
        var result = new float[Channels * Height * Width];
        for (int c = 0; c < Channels; c++)
        {
            var plane = image.Width == Width && image.Height == Height ? planes[c] : ResizePlane(planes[c], image.Width, image.Height, Width, Height);
            float mean = Mean.Length == 1 ? Mean[0] : Mean[c], std = Std.Length == 1 ? Std[0] : Std[c];
            var dst = result.AsSpan(c * Height * Width, Height * Width);
            for (int i = 0; i < dst.Length; i++) dst[i] = (plane[i] / PixelScale - mean) / std;
        }
        return NdArray.Of(result, 1, Channels, Height, Width);
    }

    /// <summary>Splits interleaved pixels into float planes of 0..255 values: grey uses PIL's integer luma (ITU-R 601), RGB drops alpha.</summary>
    static float[][] ToPlanes(ImagePixels img, int channels)
    {
        int n = img.Width * img.Height, src = img.Channels;
        var px = img.Pixels;
        var planes = new float[channels][];
        for (int c = 0; c < channels; c++) planes[c] = new float[n];
        for (int i = 0; i < n; i++)
        {
            int o = i * src;
            if (src <= 2)
                for (int c = 0; c < channels; c++) planes[c][i] = px[o];
            else if (channels == 3)
            {
                planes[0][i] = px[o]; planes[1][i] = px[o + 1]; planes[2][i] = px[o + 2];
            }
            else planes[0][i] = (px[o] * 19595 + px[o + 1] * 38470 + px[o + 2] * 7471 + 0x8000) >> 16;
        }
        return planes;
    }

    /// <summary>Separable triangle-filter resampling (bilinear when enlarging, area-weighted when shrinking), pixel centres aligned.</summary>
    public static float[] ResizePlane(float[] src, int w, int h, int outW, int outH)
    {
        var (xIdx, xWeights, xTaps) = Filter(w, outW);
        var (yIdx, yWeights, yTaps) = Filter(h, outH);
        var tmp = new float[h * outW];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < outW; x++)
            {
                float s = 0;
                for (int t = 0; t < xTaps; t++) s += src[y * w + xIdx[x * xTaps + t]] * xWeights[x * xTaps + t];
                tmp[y * outW + x] = s;
            }
        var dst = new float[outH * outW];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                float s = 0;
                for (int t = 0; t < yTaps; t++) s += tmp[yIdx[y * yTaps + t] * outW + x] * yWeights[y * yTaps + t];
                dst[y * outW + x] = s;
            }
        return dst;
    }

    static (int[] Index, float[] Weight, int Taps) Filter(int inSize, int outSize)
    {
        double scale = inSize / (double)outSize;
        double support = Math.Max(1.0, scale); // the triangle's half-width in input pixels
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        var index = new int[outSize * taps];
        var weight = new float[outSize * taps];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale - 0.5;
            int first = (int)Math.Floor(center - support) + 1;
            double total = 0;
            var w = new double[taps];
            for (int t = 0; t < taps; t++)
            {
                double d = Math.Abs(first + t - center) / support;
                w[t] = Math.Max(0, 1 - d);
                total += w[t];
            }
            for (int t = 0; t < taps; t++)
            {
                index[o * taps + t] = Math.Clamp(first + t, 0, inSize - 1);
                weight[o * taps + t] = (float)(total > 0 ? w[t] / total : t == 0 ? 1 : 0);
            }
        }
        return (index, weight, taps);
    }
}
