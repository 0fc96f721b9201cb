namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's VGG (Simonyan and Zisserman 2014): <c>features</c> is a sequence of 3×3 convolutions (padding 1),
/// each followed by BatchNorm in the _bn variants, then ReLU, with 2×2 max-pools between the five stages;
/// then adaptive average pooling to 7×7 and three linear layers. The state dict only holds the convolutions
/// (and norms), so the pools sit where the module indices skip one more than the ReLU.
/// </summary>
public static class Vgg
{
    /// <summary>Convolutions per variant: VGG-11, 13, 16, 19.</summary>
    static readonly Dictionary<int, int> DepthByConvolutions = new() { [8] = 11, [10] = 13, [13] = 16, [16] = 19 };

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("features.0.weight") || !b.Has("classifier.0.weight")) throw new LayoutMismatch("no features.0 / classifier.0");
        bool batchNorm = b.Has("features.1.running_mean");
        int step = batchNorm ? 3 : 2; // conv, (bn), relu
        string x = "input";
        int index = 0, convolutions = 0, pools = 0;
        while (true)
        {
            if (b.Has($"features.{index}.weight"))
            {
                x = b.Conv(x, $"features.{index}", padding: 1, bias: true);
                if (batchNorm) x = b.BatchNorm(x, $"features.{index + 1}");
                x = b.Relu(x, $"features.{index + step - 1}");
                index += step;
                convolutions++;
            }
            else if (convolutions > 0)
            {
                x = b.MaxPool(x, $"features.{index}", 2, 2);
                index++;
                pools++;
                if (pools == 5) break;
            }
            else break;
        }
        if (pools != 5 || !DepthByConvolutions.TryGetValue(convolutions, out int depth))
            throw new LayoutMismatch($"{convolutions} convolutions in {pools} stages is not a VGG");
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 7), "flatten", 49);
        x = b.Relu(b.Linear(x, "classifier.0"), "classifier.1");
        x = b.Relu(b.Linear(x, "classifier.3"), "classifier.4");
        return ($"VGG-{depth}{(batchNorm ? " with BatchNorm" : "")}", b.Linear(x, "classifier.6"));
    }
}
