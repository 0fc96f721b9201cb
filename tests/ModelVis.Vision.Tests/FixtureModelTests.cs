using ModelVis.Render;
using ModelVis.Tests;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Tests;

/// <summary>The other real ONNX CNNs among the fixtures, run to the end.</summary>
public class FixtureModelTests
{
    static ImagePixels Png(string path) => ImageDecoder.Read(path);

    public static IEnumerable<(string Path, int Label)> MnistDigits() =>
        Directory.GetFiles(Fixtures.Path_("inputs", "mnist-png"), "*.png").Order(StringComparer.Ordinal)
            .Select(p => (p, int.Parse(Path.GetFileNameWithoutExtension(p)[^1..])));

    [Fact]
    public void Mnist8_Opset8_ClassifiesTheTenDigits()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("mnist-8-onnx"), "mnist.onnx"));
        // PROVENANCE: pixel values in 0..1, not normalised — the default for a 1-channel input.
        Assert.Equal(1, model.DefaultPreprocessing.Channels);
        Assert.Equal(0f, model.DefaultPreprocessing.Mean[0]);
        Assert.Equal(1f, model.DefaultPreprocessing.Std[0]);
        var predictions = new List<(int Label, int? Predicted)>();
        foreach (var (path, label) in MnistDigits())
        {
            var run = model.Run(Png(path));
            Assert.Equal(new[] { 1, 10 }, run.Logits.Shape);
            Assert.Equal(1.0, run.Probabilities!.Sum(), 5);
            predictions.Add((label, run.PredictedClass));
        }
        Assert.Equal(10, predictions.Count);
        Assert.All(predictions, p => Assert.Equal(p.Label, p.Predicted));
        var layers = model.Run(Png(MnistDigits().First().Path)).Layers;
        Assert.Equal(new[] { 8, 28, 28 }, layers.Single(l => l.Name == "Convolution28_Output_0").Shape); // SAME_UPPER keeps 28×28
        Assert.Equal(new[] { 16, 4, 4 }, layers.Single(l => l.Name == "Pooling160_Output_0").Shape);   // 3×3 pool, stride 3 on 14×14
    }

    [Fact]
    public void UltraFace_RunsToTheEnd_OnASyntheticImage()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("ultraface-rfb320"), "version-RFB-320.onnx"));
        Assert.Equal(new[] { 1, 3, 240, 320 }, model.Graph.InputShape);
        // A smooth synthetic RGB picture (ImageDecoderTests runs the model on every fixture photo).
        int w = 320, h = 240;
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                px[i] = (byte)(x * 255 / w); px[i + 1] = (byte)(y * 255 / h); px[i + 2] = (byte)((x + y) % 256);
            }
        // PROVENANCE: input (rgb − 127) / 128.
        var pre = new Preprocessing(3, 240, 320, [127f], [128f], PixelScale: 1f);
        var run = model.Run(new ImagePixels(w, h, 3, px), pre);
        var scores = run.Outputs["scores"];
        var boxes = run.Outputs["boxes"];
        Assert.Equal(new[] { 1, 4420, 2 }, scores.Shape);
        Assert.Equal(new[] { 1, 4420, 4 }, boxes.Shape);
        var s = scores.Floats;
        for (int i = 0; i < 4420; i++) Assert.Equal(1f, s[2 * i] + s[2 * i + 1], 4); // softmax over (background, face)
        Assert.All(boxes.Floats, v => Assert.True(float.IsFinite(v)));
        Assert.Null(run.Probabilities); // a detector, not a classifier: no top-5
        Assert.Empty(run.Top5);
        // Every Conv/Relu output is captured; the first conv halves 240×320.
        Assert.Equal(new[] { 16, 120, 160 }, run.Layers.First(l => l.OpType == "Conv").Shape);
        Assert.True(run.Layers.Count(l => l.IsFeatureMap) >= 80);
    }

    [Fact]
    public void MnistPng_PreprocessesExactlyAsTheReference()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.safetensors"), LeNetConformanceTests.SidecarPath);
        foreach (var (path, _) in MnistDigits())
        {
            var name = Path.GetFileNameWithoutExtension(path);
            using var expected = ModelVis.Checkpoints.CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", name + ".safetensors"));
            var want = ModelVis.Checkpoints.CheckpointExtensions.ReadFloats(expected, "input");
            var run = model.Run(Png(path));
            Assert.True(LeNetConformanceTests.MaxAbsDiff(want, run.Input.Floats) <= 1e-6f, name);
            Assert.Equal(int.Parse(name[^1..]), run.PredictedClass);
        }
    }
}
