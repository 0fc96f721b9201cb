namespace ModelVis.Vision.Torchvision;

/// <summary>
/// LeNet-5 as the classic MNIST tutorials write it: <c>conv1</c> 6@5×5 → max-pool 2 → ReLU → <c>conv2</c> 16@5×5
/// → max-pool 2 → ReLU → flatten → <c>fc1</c> → ReLU → <c>fc2</c> → ReLU → <c>fc3</c>. (Max-pooling and ReLU commute,
/// so either order gives the same output.) The input size follows from fc1: 16·4·4 = 256 inputs means 28×28
/// pictures, 16·5·5 = 400 means 32×32.
/// </summary>
public static class LeNet
{
    public static (string Name, string Output, int Side) Build(GraphBuilder b)
    {
        var conv1 = b.Shape("conv1.weight");
        if (conv1.Length != 4 || conv1[2] != 5 || conv1[1] != b.InputChannels) throw new LayoutMismatch("conv1 is not a 5×5 convolution of the input");
        var x = b.Relu(b.MaxPool(b.Conv("input", "conv1", padding: 0, bias: true), "pool1", 2, 2), "relu1");
        x = b.Relu(b.MaxPool(b.Conv(x, "conv2", padding: 0, bias: true), "pool2", 2, 2), "relu2");
        int fc1In = b.Shape("fc1.weight") is [_, var n] ? n : throw new LayoutMismatch("fc1.weight is not 2-D");
        int channels = b.Channels(x);
        int side = fc1In == channels * 16 ? 28 : fc1In == channels * 25 ? 32 : throw new LayoutMismatch($"fc1 takes {fc1In} inputs: neither 28×28 nor 32×32 pictures");
        x = b.Flatten(x, "flatten", side == 28 ? 16 : 25);
        x = b.Relu(b.Linear(x, "fc1"), "relu3");
        x = b.Relu(b.Linear(x, "fc2"), "relu4");
        return ("LeNet-5", b.Linear(x, "fc3"), side);
    }
}
