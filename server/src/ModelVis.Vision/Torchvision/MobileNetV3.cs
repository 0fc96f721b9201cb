namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's MobileNetV3 Large and Small (Howard et al. 2019): a 3×3 stride-2 stem with hard-swish,
/// inverted-residual blocks (optional 1×1 expand → k×k depthwise → optional squeeze-and-excitation → 1×1
/// projection), a 1×1 convolution with hard-swish, global average pooling, and <c>classifier.0</c> → hard-swish
/// → <c>classifier.3</c>. BatchNorm uses eps 0.001. Kernel sizes, channels and squeeze-and-excitation are read
/// from the weights; the activation and stride of each block come from the paper's tables.
/// </summary>
public static class MobileNetV3
{
    /// <summary>Per block: hard-swish (else ReLU), depthwise stride.</summary>
    static readonly (bool HardSwish, int Stride)[] Large =
    [
        (false, 1), (false, 2), (false, 1), (false, 2), (false, 1), (false, 1),
        (true, 2), (true, 1), (true, 1), (true, 1), (true, 1), (true, 1), (true, 2), (true, 1), (true, 1),
    ];
    static readonly (bool HardSwish, int Stride)[] Small =
    [
        (false, 2), (false, 2), (false, 1), (true, 2), (true, 1), (true, 1), (true, 1), (true, 1), (true, 2), (true, 1), (true, 1),
    ];
    const float Eps = 1e-3f;

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("features.0.0.weight") || !b.Has("features.1.block.0.0.weight")) throw new LayoutMismatch("no features.0.0 / features.1.block");
        int blocks = 0;
        while (b.Has($"features.{blocks + 1}.block.0.0.weight")) blocks++;
        var table = blocks == Large.Length ? Large : blocks == Small.Length ? Small : throw new LayoutMismatch($"{blocks} blocks: neither MobileNetV3 Large (15) nor Small (11)");
        var x = ConvBnAct(b, "input", "features.0", 2, hardSwish: true);
        for (int i = 1; i <= blocks; i++)
        {
            var (hardSwish, stride) = table[i - 1];
            string p = $"features.{i}.block";
            // A depthwise convolution takes one channel per group; a first convolution that takes more is the expansion.
            int m = 0;
            var y = x;
            bool expands = b.Shape($"{p}.0.0.weight")[1] != 1;
            if (expands) y = ConvBnAct(b, y, $"{p}.{m++}", 1, hardSwish);
            y = ConvBnAct(b, y, $"{p}.{m++}", stride, hardSwish);
            if (b.Has($"{p}.{m}.fc1.weight")) y = SqueezeExcitation(b, y, $"{p}.{m++}");
            y = b.BatchNorm(b.Conv(y, $"{p}.{m}.0", padding: 0), $"{p}.{m}.1", Eps);
            x = stride == 1 && b.Channels(y) == b.Channels(x) ? b.Add(y, x, $"features.{i}.add") : y;
        }
        x = ConvBnAct(b, x, $"features.{blocks + 1}", 1, hardSwish: true);
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 1), "flatten");
        x = b.HardSwish(b.Linear(x, "classifier.0"), "classifier.1");
        return ($"MobileNetV3 {(table == Large ? "Large" : "Small")}", b.Linear(x, "classifier.3"));
    }

    static string ConvBnAct(GraphBuilder b, string x, string p, int stride, bool hardSwish)
    {
        var y = b.BatchNorm(b.Conv(x, p + ".0", stride), p + ".1", Eps);
        return hardSwish ? b.HardSwish(y, p + ".2") : b.Relu(y, p + ".2");
    }

    /// <summary>x · hardsigmoid(fc2(relu(fc1(avgpool(x))))), fc1/fc2 being 1×1 convolutions.</summary>
    static string SqueezeExcitation(GraphBuilder b, string x, string p)
    {
        var s = b.AdaptiveAvgPool(x, p + ".avgpool", 1);
        s = b.Relu(b.Conv(s, p + ".fc1", padding: 0, bias: true), p + ".relu");
        s = b.HardSigmoid(b.Conv(s, p + ".fc2", padding: 0, bias: true), p + ".scale_activation");
        return b.Mul(x, s, p + ".scale");
    }
}
