namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's EfficientNet B0 (Tan and Le 2019): a 3×3 stride-2 stem with SiLU, seven stages of MBConv blocks
/// (optional 1×1 expand → k×k depthwise → squeeze-and-excitation with SiLU and a sigmoid gate → 1×1 projection),
/// a 1×1 convolution to 1280 channels with SiLU, global average pooling and <c>classifier.1</c>. Stochastic depth
/// is identity at inference. Kernel sizes and channels are read from the weights, the stage strides from the
/// paper's table (B1–B7 share them and differ in width and depth, so they run too).
/// </summary>
public static class EfficientNet
{
    static readonly int[] StageStrides = [1, 2, 2, 2, 1, 2, 1];
    static readonly int[] B0Blocks = [1, 2, 2, 3, 3, 4, 1];

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("features.0.0.weight") || !b.Has("features.1.0.block.0.0.weight")) throw new LayoutMismatch("no features.0.0 / features.1.0.block");
        var x = ConvBnSilu(b, "input", "features.0", 2);
        var blocks = new int[StageStrides.Length];
        for (int stage = 1; stage <= StageStrides.Length; stage++)
        {
            for (int i = 0; b.Has($"features.{stage}.{i}.block.0.0.weight"); i++, blocks[stage - 1]++)
            {
                string p = $"features.{stage}.{i}.block";
                int stride = i == 0 ? StageStrides[stage - 1] : 1;
                int m = 0;
                var y = x;
                if (b.Shape($"{p}.0.0.weight")[1] != 1) y = ConvBnSilu(b, y, $"{p}.{m++}", 1);
                y = ConvBnSilu(b, y, $"{p}.{m++}", stride);
                y = SqueezeExcitation(b, y, $"{p}.{m++}");
                y = b.BatchNorm(b.Conv(y, $"{p}.{m}.0", padding: 0), $"{p}.{m}.1");
                x = stride == 1 && b.Channels(y) == b.Channels(x) ? b.Add(y, x, $"features.{stage}.{i}.add") : y;
            }
            if (blocks[stage - 1] == 0) throw new LayoutMismatch($"no features.{stage}.0");
        }
        x = ConvBnSilu(b, x, $"features.{StageStrides.Length + 1}", 1);
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 1), "flatten");
        string name = blocks.SequenceEqual(B0Blocks) && b.Channels(x) == 1280 ? "EfficientNet-B0" : $"EfficientNet ({string.Join(",", blocks)} blocks)";
        return (name, b.Linear(x, "classifier.1"));
    }

    static string ConvBnSilu(GraphBuilder b, string x, string p, int stride) =>
        b.Silu(b.BatchNorm(b.Conv(x, p + ".0", stride), p + ".1"), p + ".2");

    /// <summary>x · sigmoid(fc2(silu(fc1(avgpool(x))))).</summary>
    static string SqueezeExcitation(GraphBuilder b, string x, string p)
    {
        var s = b.AdaptiveAvgPool(x, p + ".avgpool", 1);
        s = b.Silu(b.Conv(s, p + ".fc1", padding: 0, bias: true), p + ".activation");
        s = b.Sigmoid(b.Conv(s, p + ".fc2", padding: 0, bias: true), p + ".scale_activation");
        return b.Mul(x, s, p + ".scale");
    }
}
