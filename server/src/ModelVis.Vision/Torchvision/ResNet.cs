namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's ResNet (He et al. 2015, with the stride on the 3×3 convolution as in "ResNet v1.5"): a 7×7
/// stride-2 stem and a 3×3 max-pool, four stages <c>layer1..4</c> of residual blocks, global average pooling and
/// <c>fc</c>. Basic blocks (two 3×3 convolutions) make ResNet-18/34; bottlenecks (1×1, 3×3, 1×1) make
/// ResNet-50/101/152. A block's first convolution strides 2 in stages 2–4, and a <c>downsample</c> (1×1
/// convolution + BatchNorm) brings the shortcut to the new shape.
/// </summary>
public static class ResNet
{
    static readonly Dictionary<string, int> DepthByBlocks = new()
    {
        ["basic 2,2,2,2"] = 18, ["basic 3,4,6,3"] = 34,
        ["bottleneck 3,4,6,3"] = 50, ["bottleneck 3,4,23,3"] = 101, ["bottleneck 3,8,36,3"] = 152,
    };

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("conv1.weight") || !b.Has("layer1.0.conv1.weight")) throw new LayoutMismatch("no conv1 / layer1.0.conv1");
        bool bottleneck = b.Has("layer1.0.conv3.weight");
        var x = b.Relu(b.BatchNorm(b.Conv("input", "conv1", stride: 2, padding: 3), "bn1"), "relu");
        x = b.MaxPool(x, "maxpool", 3, 2, 1);
        var blocks = new int[4];
        for (int stage = 1; stage <= 4; stage++)
        {
            for (int i = 0; b.Has($"layer{stage}.{i}.conv1.weight"); i++, blocks[stage - 1]++)
            {
                int stride = stage > 1 && i == 0 ? 2 : 1;
                x = Block(b, x, $"layer{stage}.{i}", stride, bottleneck);
            }
            if (blocks[stage - 1] == 0) throw new LayoutMismatch($"no layer{stage}");
        }
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 1), "flatten");
        string key = $"{(bottleneck ? "bottleneck" : "basic")} {string.Join(",", blocks)}";
        string name = DepthByBlocks.TryGetValue(key, out int depth) ? $"ResNet-{depth}" : $"ResNet ({key} blocks)";
        return (name, b.Linear(x, "fc"));
    }

    static string Block(GraphBuilder b, string x, string p, int stride, bool bottleneck)
    {
        string y;
        if (bottleneck)
        {
            y = b.Relu(b.BatchNorm(b.Conv(x, p + ".conv1", padding: 0), p + ".bn1"), p + ".relu1");
            y = b.Relu(b.BatchNorm(b.Conv(y, p + ".conv2", stride, padding: 1), p + ".bn2"), p + ".relu2");
            y = b.BatchNorm(b.Conv(y, p + ".conv3", padding: 0), p + ".bn3");
        }
        else
        {
            y = b.Relu(b.BatchNorm(b.Conv(x, p + ".conv1", stride, padding: 1), p + ".bn1"), p + ".relu1");
            y = b.BatchNorm(b.Conv(y, p + ".conv2", padding: 1), p + ".bn2");
        }
        var shortcut = b.Has(p + ".downsample.0.weight")
            ? b.BatchNorm(b.Conv(x, p + ".downsample.0", stride, padding: 0), p + ".downsample.1")
            : x;
        if (b.Channels(shortcut) != b.Channels(y)) throw new LayoutMismatch($"{p}: the shortcut has {b.Channels(shortcut)} channels, the block {b.Channels(y)}");
        return b.Relu(b.Add(y, shortcut, p + ".add"), p + ".relu");
    }
}
