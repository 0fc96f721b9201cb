namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's DenseNet (Huang et al. 2017): a 7×7 stride-2 stem with BatchNorm, ReLU and a 3×3 max-pool,
/// four dense blocks whose layers (BN → ReLU → 1×1 conv → BN → ReLU → 3×3 conv) each add <c>growth</c>
/// channels concatenated to everything before them, transitions (BN → ReLU → 1×1 conv → 2×2 average pool)
/// between blocks, a final BatchNorm <c>norm5</c> and ReLU, global average pooling and <c>classifier</c>.
/// </summary>
public static class DenseNet
{
    static readonly Dictionary<string, int> DepthByLayers = new()
    {
        ["6,12,24,16"] = 121, ["6,12,32,32"] = 169, ["6,12,48,32"] = 201, ["6,12,36,24"] = 161,
    };

    public static (string Name, string Output) Build(GraphBuilder b)
    {
        if (!b.Has("features.conv0.weight") || !b.Has("features.denseblock1.denselayer1.conv1.weight")) throw new LayoutMismatch("no features.conv0 / denseblock1");
        var x = b.Relu(b.BatchNorm(b.Conv("input", "features.conv0", stride: 2, padding: 3), "features.norm0"), "features.relu0");
        x = b.MaxPool(x, "features.pool0", 3, 2, 1);
        var layers = new List<int>();
        for (int block = 1; b.Has($"features.denseblock{block}.denselayer1.conv1.weight"); block++)
        {
            int n = 0;
            for (; b.Has($"features.denseblock{block}.denselayer{n + 1}.conv1.weight"); n++)
            {
                string p = $"features.denseblock{block}.denselayer{n + 1}";
                var y = b.Relu(b.BatchNorm(x, p + ".norm1"), p + ".relu1");
                y = b.Conv(y, p + ".conv1", padding: 0);
                y = b.Conv(b.Relu(b.BatchNorm(y, p + ".norm2"), p + ".relu2"), p + ".conv2", padding: 1);
                x = b.Concat([x, y], p + ".concat");
            }
            layers.Add(n);
            string t = $"features.transition{block}";
            if (!b.Has(t + ".conv.weight")) continue;
            x = b.Conv(b.Relu(b.BatchNorm(x, t + ".norm"), t + ".relu"), t + ".conv", padding: 0);
            x = b.AvgPool(x, t + ".pool", 2, 2);
        }
        x = b.Relu(b.BatchNorm(x, "features.norm5"), "relu");
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 1), "flatten");
        string key = string.Join(",", layers);
        string name = DepthByLayers.TryGetValue(key, out int depth) ? $"DenseNet-{depth}" : $"DenseNet ({key} layers)";
        return (name, b.Linear(x, "classifier"));
    }
}
