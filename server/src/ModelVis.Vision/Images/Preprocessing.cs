namespace ModelVis.Vision.Images;

/// <summary>How a picture of another shape is brought to the model's H×W.</summary>
public enum ResizeMode
{
    /// <summary>Both sides scaled to fit exactly: the aspect ratio changes.</summary>
    Stretch,
    /// <summary>Scaled to fit inside, centred, the rest black: nothing is cut, nothing is distorted.</summary>
    Letterbox,
    /// <summary>Scaled to cover (by 1 / CropFraction more), the centre cut out: torchvision's resize + centre crop.</summary>
    Crop,
}

/// <summary>
/// How a picture becomes the model's input tensor [1, C, H, W]: brought to H×W (<see cref="Resize"/>; bilinear,
/// with a widened filter when shrinking so small details average rather than alias), converted to grey or RGB
/// (or BGR), then x = (pixel / PixelScale − Mean[c]) / Std[c], every step in float32. A scale-and-offset recipe
/// x = pixel·a + b is the same with PixelScale 1, Mean −b/a, Std 1/a.
/// </summary>
public sealed record Preprocessing(int Channels, int Height, int Width, float[] Mean, float[] Std, float PixelScale = 255f,
    ResizeMode Resize = ResizeMode.Stretch, bool Bgr = false, float CropFraction = 1f)
{
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>Defaults when nothing is known about the model: grey in 0..1, or RGB with ImageNet statistics; letterboxed.</summary>
    public static Preprocessing DefaultFor(int channels, int height, int width) => channels == 1
        ? new Preprocessing(1, height, width, [0f], [1f], Resize: ResizeMode.Letterbox)
        : new Preprocessing(3, height, width, ImageNetMean, ImageNetStd, Resize: ResizeMode.Letterbox);

    public string ChannelOrder => Channels == 1 ? "grey" : Bgr ? "BGR" : "RGB";

    public string ResizeText => Resize switch
    {
        ResizeMode.Stretch => "stretched to fit",
        ResizeMode.Letterbox => "letterboxed (aspect kept, black bars)",
        _ => CropFraction < 1 ? $"centre-cropped (shorter side to {Math.Round(Math.Min(Width, Height) / CropFraction)}, then {Width}×{Height})" : "centre-cropped (aspect kept, edges cut)",
    };

    public string Describe => $"{ChannelOrder} {Width}×{Height}, {ResizeText}, x = (pixel/{PixelScale:G} − [{string.Join(", ", Mean.Select(v => v.ToString("G4")))}]) / [{string.Join(", ", Std.Select(v => v.ToString("G4")))}]";

    public void Validate()
    {
        if (Channels is not (1 or 3)) throw new VisionException($"the model takes {Channels} input channels; only grey (1) and RGB (3) images are supported");
        if (Height <= 0 || Width <= 0) throw new VisionException($"input size {Width}×{Height} is invalid");
        if (Mean.Length is not 1 && Mean.Length != Channels || Std.Length is not 1 && Std.Length != Channels)
            throw new VisionException($"mean/std need 1 or {Channels} values (got {Mean.Length} and {Std.Length})");
        if (Std.Any(s => s == 0 || !float.IsFinite(s)) || Mean.Any(m => !float.IsFinite(m))) throw new VisionException("mean must be finite and std finite and not 0");
        if (!(PixelScale > 0) || !float.IsFinite(PixelScale)) throw new VisionException($"pixel scale {PixelScale} must be a positive number");
        if (!(CropFraction > 0 && CropFraction <= 1)) throw new VisionException($"crop fraction {CropFraction} must be in (0, 1]");
    }

    public NdArray Apply(ImagePixels image)
    {
        image.Validate();
        Validate();
        var planes = ToPlanes(image, Channels, Bgr);
        var result = new float[Channels * Height * Width];
        for (int c = 0; c < Channels; c++)
        {
            var plane = Fit(planes[c], image.Width, image.Height);
            float mean = Mean.Length == 1 ? Mean[0] : Mean[c], std = Std.Length == 1 ? Std[0] : Std[c];
            var dst = result.AsSpan(c * Height * Width, Height * Width);
            for (int i = 0; i < dst.Length; i++) dst[i] = (plane[i] / PixelScale - mean) / std;
        }
        return NdArray.Of(result, 1, Channels, Height, Width);
    }

    /// <summary>One plane of pixel values brought to Width×Height by <see cref="Resize"/>.</summary>
    float[] Fit(float[] plane, int w, int h)
    {
        if (w == Width && h == Height) return plane;
        if (Resize == ResizeMode.Stretch) return ResizePlane(plane, w, h, Width, Height);
        double scale = Resize == ResizeMode.Crop ? Math.Max(Width / (double)w, Height / (double)h) / CropFraction : Math.Min(Width / (double)w, Height / (double)h);
        int rw = (int)Math.Round(w * scale), rh = (int)Math.Round(h * scale);
        rw = Resize == ResizeMode.Crop ? Math.Max(rw, Width) : Math.Clamp(rw, 1, Width);
        rh = Resize == ResizeMode.Crop ? Math.Max(rh, Height) : Math.Clamp(rh, 1, Height);
        var scaled = ResizePlane(plane, w, h, rw, rh);
        var result = new float[Width * Height];
        if (Resize == ResizeMode.Crop)
        {
            int x0 = (int)Math.Round((rw - Width) / 2.0), y0 = (int)Math.Round((rh - Height) / 2.0);
            for (int y = 0; y < Height; y++) scaled.AsSpan((y + y0) * rw + x0, Width).CopyTo(result.AsSpan(y * Width, Width));
        }
        else
        {
            int x0 = (Width - rw) / 2, y0 = (Height - rh) / 2;
            for (int y = 0; y < rh; y++) scaled.AsSpan(y * rw, rw).CopyTo(result.AsSpan((y + y0) * Width + x0, rw));
        }
        return result;
    }

    /// <summary>Splits interleaved pixels into float planes of 0..255 values: grey uses PIL's integer luma (ITU-R 601), RGB drops alpha; BGR swaps the first and last planes.</summary>
    static float[][] ToPlanes(ImagePixels img, int channels, bool bgr)
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
                planes[bgr ? 2 : 0][i] = px[o]; planes[1][i] = px[o + 1]; planes[bgr ? 0 : 2][i] = px[o + 2];
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
