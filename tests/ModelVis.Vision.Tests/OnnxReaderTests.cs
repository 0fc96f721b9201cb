using ModelVis.Checkpoints;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Tests;

namespace ModelVis.Vision.Tests;

public class OnnxReaderTests
{
    static string LeNetOnnx => Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.onnx");

    [Fact]
    public void LeNetGraph_IsReadCompletely()
    {
        var m = OnnxModel.Load(LeNetOnnx);
        Assert.Equal(11, m.DefaultOpset);
        Assert.Equal(14, m.Graph.Nodes.Count);
        Assert.Equal(10, m.Graph.Initializers.Count);
        Assert.Equal("input.1", m.Graph.Inputs[0].Name);
        Assert.Equal(new long?[] { 1, 1, 28, 28 }, m.Graph.Inputs[0].Shape);
        Assert.Equal("24", m.Graph.Outputs[0].Name);
        var conv = m.Graph.Nodes[0];
        Assert.Equal("Conv", conv.OpType);
        Assert.Equal(new long[] { 5, 5 }, conv.Attributes["kernel_shape"].Ints);
        Assert.Equal(new[] { "input.1", "conv1.weight", "conv1.bias" }, conv.Inputs);
        Assert.Equal(1f, m.Graph.Nodes.Single(n => n.OpType == "Gemm" && n.Name == "Gemm_8").Attributes["alpha"].F);
    }

    [Fact]
    public void OnnxCheckpoint_ListsInitializersAndConstants_WithTheStateDictValues()
    {
        using var onnx = CheckpointLoader.Open(LeNetOnnx);
        Assert.IsType<OnnxCheckpoint>(onnx);
        using var st = CheckpointLoader.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.safetensors"));
        foreach (var t in st.Tensors)
        {
            Assert.True(onnx.TryGet(t.Name, out var o), $"{t.Name} missing from the ONNX checkpoint");
            Assert.Equal(t.Shape, o.Shape);
            Assert.Equal(st.ReadFloats(t), onnx.ReadFloats(o));
        }
        // The Constant node's shape tensor for the Reshape, named by its output.
        Assert.True(onnx.TryGet("17", out var shape));
        Assert.Equal(DType.I64, shape.DType);
        Assert.Equal(new long[] { -1, 256 }, onnx.ReadInt64s(shape));
    }

    [Fact]
    public void TypedFloatData_AndInt64Data_AreDecoded()
    {
        var bytes = new OnnxBuilder()
            .Input("x", 1, 2).Output("y")
            .InitializerAsFloatData("w", [1.5f, -2f, 3.25f, 4f], 2, 2)
            .Int64Initializer("s", [2, 2], 2)
            .Node("MatMul", "mm", ["x", "w"], ["y"]).Build();
        using var dir = new Fixtures.TempDir();
        var path = dir.File("typed.onnx");
        File.WriteAllBytes(path, bytes);
        using var ck = CheckpointLoader.Open(path);
        Assert.Equal(new[] { 1.5f, -2f, 3.25f, 4f }, ck.ReadFloats("w"));
        Assert.Equal(new long[] { 2, 2 }, ck.ReadInt64s(ck.Get("s")));
        var run = VisionModel.Open(path).Run(NdArray.Of([1f, 1f], 1, 2), captureAll: true);
        Assert.Equal(new[] { 4.75f, 2f }, run.Outputs["y"].Floats);
    }

    [Fact]
    public void TruncatedOnnx_GivesAClearError()
    {
        var bytes = File.ReadAllBytes(LeNetOnnx);
        using var dir = new Fixtures.TempDir();
        var path = dir.File("truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<VisionException>(() => VisionModel.Open(path));
        Assert.Contains("truncated.onnx", e.Message);
        Assert.Contains("not a valid ONNX protobuf", e.Message);
        var c = Assert.Throws<CheckpointException>(() => CheckpointLoader.Open(path));
        Assert.Contains("truncated.onnx", c.Message);
    }

    [Fact]
    public void GarbageOnnx_GivesAClearError()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("garbage.onnx");
        File.WriteAllText(path, "this is a text file, not a model");
        var e = Assert.ThrowsAny<Exception>(() => VisionModel.Open(path));
        Assert.IsType<VisionException>(e);
        Assert.Contains("garbage.onnx", e.Message);
    }

    [Fact]
    public void UnsupportedOperator_IsNamedWithItsNode()
    {
        var bytes = new OnnxBuilder()
            .Input("x", 1, 1, 4, 4).Output("z")
            .Node("Relu", "relu_0", ["x"], ["y"])
            .Node("DeformConv", "the_fancy_layer", ["y"], ["z"]).Build();
        using var dir = new Fixtures.TempDir();
        var path = dir.File("fancy.onnx");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<VisionException>(() => VisionModel.Open(path, engine: VisionEngine.Interpreter));
        Assert.Contains("DeformConv", e.Message);
        Assert.Contains("the_fancy_layer", e.Message);
    }

    [Fact]
    public void ExternalData_GivesAClearError()
    {
        // A tensor whose data_location is EXTERNAL (field 14 = 1) with no inline values.
        var model = new OnnxBuilder().Input("x", 1).Output("x").Build();
        // Build a TensorProto by hand: dims [1], FLOAT, name "w", data_location EXTERNAL.
        byte[] tensor = [0x0A, 0x01, 0x01, 0x10, 0x01, 0x42, 0x01, (byte)'w', 0x70, 0x01];
        var parsed = OnnxModel.ParseTensorProto(tensor);
        Assert.True(parsed.IsExternal);
        var e = Assert.Throws<OnnxFormatException>(() => parsed.ToBytes(model));
        Assert.Contains("external data", e.Message);
    }
}
