namespace ModelVis.Vision.Torchvision;

/// <summary>
/// torchvision's AlexNet (the one-GPU variant of Krizhevsky et al. 2014): five convolutions with ReLU and three
/// max-pools in <c>features</c>, adaptive average pooling to 6×6, and three linear layers in <c>classifier</c>
/// (dropouts at 0 and 3 are identity at inference).
/// </summary>
public static class AlexNet
{
    public static (string Name, string Output) Build(GraphBuilder b)
    {
        var x = b.Relu(b.Conv("input", "features.0", stride: 4, padding: 2, bias: true), "features.1");
        x = b.MaxPool(x, "features.2", 3, 2);
        x = b.Relu(b.Conv(x, "features.3", padding: 2, bias: true), "features.4");
        x = b.MaxPool(x, "features.5", 3, 2);
        x = b.Relu(b.Conv(x, "features.6", padding: 1, bias: true), "features.7");
        x = b.Relu(b.Conv(x, "features.8", padding: 1, bias: true), "features.9");
        x = b.Relu(b.Conv(x, "features.10", padding: 1, bias: true), "features.11");
        x = b.MaxPool(x, "features.12", 3, 2);
        x = b.Flatten(b.AdaptiveAvgPool(x, "avgpool", 6), "flatten", 36);
        x = b.Relu(b.Linear(x, "classifier.1"), "classifier.2");
        x = b.Relu(b.Linear(x, "classifier.4"), "classifier.5");
        return ("AlexNet", b.Linear(x, "classifier.6"));
    }
}
