using ModelVis.Tests;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Tests;

/// <summary>
/// ONNX Runtime beside the interpreter: every fixture CNN run by both on a real picture, every node output compared
/// (ONNX Runtime hands out intermediates because each is made a graph output); and a graph with an operator the
/// interpreter lacks, which Auto runs in ONNX Runtime, checked against the operator's formula.
/// </summary>
public class OnnxRuntimeTests
{
    public static TheoryData<string, string> FixtureCnns => new()
    {
        { "lenet5-mnist/lenet.onnx", "inputs/mnist-png/mnist_test_00_label7.png" },
        { "mnist-8-onnx/mnist.onnx", "inputs/mnist-png/mnist_test_00_label7.png" },
        { "ultraface-rfb320/version-RFB-320.onnx", "images/test_object_detection_0.jpg" },
    };

    [Theory]
    [MemberData(nameof(FixtureCnns))]
    public void Interpreter_and_OnnxRuntime_agree_on_every_layer(string model, string picture)
    {
        var path = Fixtures.Path_(["models", .. model.Split('/')]);
        var image = ImageDecoder.Read(Fixtures.Path_(picture.Split('/')));
        var interpreter = VisionModel.Open(path, engine: VisionEngine.Interpreter);
        var runtime = VisionModel.Open(path, engine: VisionEngine.OnnxRuntime);
        Assert.Equal("interpreter", interpreter.Engine);
        Assert.Equal("onnxruntime", runtime.Engine);
        Assert.Equal("interpreter", VisionModel.Open(path).Engine);           // Auto keeps the interpreter where it has every operator

        var a = interpreter.Run(image);
        var b = runtime.Run(image);
        Assert.Equal(a.Layers.Select(l => l.Name), b.Layers.Select(l => l.Name));
        Assert.True(a.Layers.Count >= 8, $"{a.Layers.Count} layers");
        foreach (var (x, y) in a.Layers.Zip(b.Layers))
        {
            Assert.Equal(x.Shape, y.Shape);
            Assert.Equal(x.OpType, y.OpType);
            // Relative to the layer's scale: float32 sums in another order differ in the last bits.
            float scale = Math.Max(1f, x.Value.Floats.Max(Math.Abs));
            float worst = 0;
            for (int i = 0; i < x.Value.Length; i++) worst = Math.Max(worst, Math.Abs(x.Value.Floats[i] - y.Value.Floats[i]));
            Assert.True(worst <= 1e-4f * scale, $"{model} {x.Name} ({x.OpType}): max |Δ| {worst} at scale {scale}");
        }
        foreach (var (name, value) in a.Outputs) Assert.Equal(value.Shape, b.Outputs[name].Shape);
        Assert.Equal(a.PredictedClass, b.PredictedClass);
    }

    [Fact]
    public void A_graph_with_an_operator_the_interpreter_lacks_runs_in_OnnxRuntime_with_its_intermediates()
    {
        // x → Conv 1×1 (w = 2, b = −1) → Softplus → Erf → y; Softplus and Erf are not interpreter operators.
        var bytes = new OnnxBuilder()
            .Input("x", 1, 1, 2, 3).Output("y")
            .Initializer("w", [2f], 1, 1, 1, 1).Initializer("b", [-1f], 1)
            .Node("Conv", "conv", ["x", "w", "b"], ["c"])
            .Node("Softplus", "softplus", ["c"], ["s"])
            .Node("Erf", "erf", ["s"], ["y"]).Build();
        using var dir = new Fixtures.TempDir();
        var path = dir.File("softplus.onnx");
        File.WriteAllBytes(path, bytes);
        Assert.Throws<VisionException>(() => VisionModel.Open(path, engine: VisionEngine.Interpreter));

        var model = VisionModel.Open(path);
        Assert.Equal("onnxruntime", model.Engine);
        float[] x = [-2f, -0.5f, 0f, 0.25f, 1f, 3f];
        var run = model.Run(NdArray.Of(x, 1, 1, 2, 3));
        Assert.Equal(new[] { "c", "s", "y" }, run.Layers.Select(l => l.Name));
        for (int i = 0; i < x.Length; i++)
        {
            double c = 2 * x[i] - 1, s = Math.Log(1 + Math.Exp(c));
            Assert.Equal(c, run.Layer("c").Value.Floats[i], 5);
            Assert.Equal(s, run.Layer("s").Value.Floats[i], 5);
            Assert.Equal(Erf(s), run.Layer("y").Value.Floats[i], 5);
        }
        Assert.Equal(new[] { 1, 2, 3 }, run.Layer("softplus").Shape);
    }

    /// <summary>erf by Abramowitz–Stegun 7.1.26 (|error| &lt; 1.5e-7).</summary>
    static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return Math.Sign(x) * y;
    }

    [Fact]
    public void A_model_OnnxRuntime_cannot_load_is_a_clear_error()
    {
        var bytes = new OnnxBuilder()
            .Input("x", 1, 1, 4, 4).Output("z")
            .Node("Relu", "relu_0", ["x"], ["y"])
            .Node("NoSuchOperator", "the_fancy_layer", ["y"], ["z"]).Build();
        using var dir = new Fixtures.TempDir();
        var path = dir.File("fancy.onnx");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<VisionException>(() => VisionModel.Open(path));
        Assert.Contains("fancy.onnx", e.Message);
        Assert.Contains("NoSuchOperator", e.Message);
    }
}
