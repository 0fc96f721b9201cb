namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's MobileNetV2 (Sandler et al. 2018): a 3×3 stride-2 stem, 17 inverted-residual blocks
/// (1×1 expand → 3×3 depthwise → 1×1 linear projection, ReLU6 after the first two; the first block has no
/// expansion), a 1×1 convolution to 1280 channels, global average pooling and <c>classifier.1</c>. A block adds
/// its input back when it keeps the stride and the channels.
/// </summary>
public static class MobileNetV2
{
    /// <summary>The depthwise stride of blocks 1..17: the first block of the stages with s = 2 in the paper's table.</summary>
    static readonly int[] Strides = [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1];

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("features.0.0.weight") || !b.Has("features.1.conv.0.0.weight") || !b.Has("features.18.0.weight"))
            throw new LayoutMismatch("no features.0.0 / features.1.conv / features.18.0");
        var x = ConvBnRelu6(b, "input", "features.0", 2);
        for (int i = 1; i <= Strides.Length; i++)
        {
            string p = $"features.{i}";
            int stride = Strides[i - 1];
            bool expands = b.Has(p + ".conv.3.weight");
            var y = expands ? ConvBnRelu6(b, x, p + ".conv.0", 1) : x;
            y = ConvBnRelu6(b, y, p + $".conv.{(expands ? 1 : 0)}", stride);
            int project = expands ? 2 : 1;
            y = b.BatchNorm(b.Conv(y, p + $".conv.{project}", padding: 0), p + $".conv.{project + 1}");
            x = stride == 1 && b.Channels(y) == b.Channels(x) ? b.Add(y, x, p + ".add") : y;
        }
        x = ConvBnRelu6(b, x, "features.18", 1);
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 1), "flatten");
        return ("MobileNetV2", b.Linear(x, "classifier.1"));
    }

    /// <summary>Conv2dNormActivation: <c>p.0</c> convolution, <c>p.1</c> BatchNorm, ReLU6.</summary>
    static string ConvBnRelu6(GraphBuilder b, string x, string p, int stride) =>
        b.Relu6(b.BatchNorm(b.Conv(x, p + ".0", stride), p + ".1"), p + ".2");
}
