using ModelVis.Checkpoints;
using ModelVis.Tests;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Tests;

/// <summary>Sidecar binding and errors, and the class activation map of a net ending in global pooling + linear.</summary>
public class CamAndSidecarTests
{
    const string GapNet = """
    {
      "input": { "channels": 3, "height": 8, "width": 8 },
      "labels": ["cat", "dog", "tench"],
      "layers": [
        { "name": "conv", "type": "conv2d", "prefix": "features.0", "kernel_size": 3, "padding": 1 },
        { "name": "bn", "type": "batchnorm2d", "prefix": "features.1" },
        { "name": "relu", "type": "relu" },
        { "name": "gap", "type": "adaptiveavgpool2d", "output_size": 1 },
        { "name": "flat", "type": "flatten" },
        { "name": "drop", "type": "dropout" },
        { "name": "fc", "type": "linear", "prefix": "classifier" }
      ]
    }
    """;

    static float[] Values(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
    }

    static string WriteGapNet(Fixtures.TempDir dir, string arch = GapNet)
    {
        var path = dir.File("gapnet.safetensors");
        new SafetensorsWriter()
            .Add("features.0.weight", Values(4 * 3 * 9, 1), 4, 3, 3, 3)
            .Add("features.0.bias", Values(4, 2), 4)
            .Add("features.1.weight", Values(4, 3).Select(v => v + 1).ToArray(), 4)
            .Add("features.1.bias", Values(4, 4), 4)
            .Add("features.1.running_mean", Values(4, 5), 4)
            .Add("features.1.running_var", Values(4, 6).Select(v => v + 1).ToArray(), 4)
            .Add("classifier.weight", Values(3 * 4, 7), 3, 4)
            .Add("classifier.bias", Values(3, 8), 3)
            .Save(path);
        File.WriteAllText(dir.File("gapnet.arch.json"), arch);
        return path;
    }

    [Fact]
    public void Cam_IsTheClassWeightedSumOfTheLastFeatureMaps()
    {
        using var dir = new Fixtures.TempDir();
        var model = VisionModel.Open(WriteGapNet(dir)); // sidecar found beside the weights
        var img = new ImagePixels(16, 16, 3, Values(16 * 16 * 3, 9).Select(v => (byte)((v + 0.5) * 255)).ToArray());
        var run = model.Run(img);
        Assert.Equal(new[] { 1, 3, 8, 8 }, run.Input.Shape); // resized to the sidecar's 8×8
        Assert.NotNull(run.Cam);
        Assert.Equal("relu", run.Cam!.FeatureLayer);
        var relu = run.Layer("relu");
        var w = CheckpointLoader.Open(dir.File("gapnet.safetensors")).ReadFloats("classifier.weight");
        var bias = CheckpointLoader.Open(dir.File("gapnet.safetensors")).ReadFloats("classifier.bias");
        for (int c = 0; c < 3; c++)
        {
            var map = run.Cam.Map(c);
            Assert.Equal(64, map.Length);
            for (int p = 0; p < 64; p++)
            {
                double want = 0;
                for (int k = 0; k < 4; k++) want += w[c * 4 + k] * relu.Map(k)[p];
                Assert.Equal(want, map[p], 4);
            }
            // The mean of the map plus the bias is the logit: CAM decomposes the class score over positions.
            Assert.Equal(run.Logits.Floats[c], map.Average() + bias[c], 4);
        }
        Assert.Equal(run.Top5[0].Label, new[] { "cat", "dog", "tench" }[run.Top5[0].Index]);
        Assert.Equal(3, run.Top5.Count);
    }

    [Fact]
    public void NetWithoutGlobalPooling_HasNoCam()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.safetensors"), LeNetConformanceTests.SidecarPath);
        Assert.Null(model.Run(NdArray.Zeros(1, 1, 28, 28)).Cam);
    }

    [Fact]
    public void SidecarErrors_SayWhatDoesNotFit()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<VisionException>(() => VisionModel.Open(WriteGapNet(dir, GapNet.Replace("\"classifier\"", "\"head\""))));
        Assert.Contains("head.weight", e.Message);
        Assert.Contains("\"fc\"", e.Message);

        e = Assert.Throws<VisionException>(() => VisionModel.Open(WriteGapNet(dir, GapNet.Replace("\"kernel_size\": 3", "\"kernel_size\": 5"))));
        Assert.Contains("kernel_size", e.Message);

        e = Assert.Throws<VisionException>(() => VisionModel.Open(WriteGapNet(dir, GapNet.Replace("\"relu\" }", "\"swishy\" }"))));
        Assert.Contains("unknown layer type \"swishy\"", e.Message);

        File.Delete(dir.File("gapnet.arch.json"));
        e = Assert.Throws<VisionException>(() => VisionModel.Open(dir.File("gapnet.safetensors")));
        Assert.Contains("gapnet.arch.json", e.Message);
    }

    [Fact]
    public void Resize_OfAConstantImage_StaysConstant_AndGreyUsesLuma()
    {
        var px = Enumerable.Repeat(new byte[] { 200, 100, 50 }, 30 * 20).SelectMany(p => p).ToArray();
        var pre = new Preprocessing(1, 7, 9, [0f], [1f]);
        var x = pre.Apply(new ImagePixels(30, 20, 3, px));
        float luma = ((200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >> 16) / 255f;
        Assert.All(x.Floats, v => Assert.Equal(luma, v, 5));
    }
}

public class CaptureTests
{
    static VisionModel LeNet => VisionModel.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.onnx"), LeNetConformanceTests.SidecarPath);

    [Fact]
    public void OutputsOnly_FreesIntermediates_AndGivesTheSameResult()
    {
        var model = LeNet;
        var input = NdArray.Of(Enumerable.Range(0, 784).Select(i => (float)Math.Sin(i * 0.1)).ToArray(), 1, 1, 28, 28);
        var all = model.Run(input, captureAll: true);
        var lean = model.Run(input, captureAll: false);
        Assert.Equal(13, all.Layers.Count); // every node but the Constant
        Assert.True(lean.Layers.Count <= 2, string.Join(", ", lean.Layers.Select(l => l.Name))); // the output and the softmax's input (the logits)
        Assert.Equal(all.Outputs["24"].Floats, lean.Outputs["24"].Floats);
        Assert.Equal(all.Logits.Floats, lean.Logits.Floats);
        Assert.Equal(all.PredictedClass, lean.PredictedClass);
    }

    [Fact]
    public void FeatureGrid_ScalesPerChannel_SortsByMean_AndShowsFirstLayerKernels()
    {
        var model = LeNet;
        var run = model.Run(NdArray.Of(Enumerable.Range(0, 784).Select(i => (float)Math.Cos(i * 0.05)).ToArray(), 1, 1, 28, 28));
        var conv = run.Layer("11");
        var grid = FeatureGrid.Prepare(conv, "channel", sortByMean: true);
        Assert.Equal(6, grid.Maps.Count);
        Assert.All(grid.Maps, m => { Assert.Equal(0f, m.Min(), 6); Assert.Equal(1f, m.Max(), 6); });
        var means = conv.ChannelMeans();
        for (int i = 1; i < 6; i++) Assert.True(means[grid.Order[i - 1]] >= means[grid.Order[i]]);
        var layerScaled = FeatureGrid.Prepare(conv, "layer");
        Assert.Equal(conv.Value.Floats.Min(), layerScaled.Low);
        Assert.Equal(conv.Map(3).ToArray(), layerScaled.Maps[3]);

        var (node, w) = model.FirstConvKernels()!.Value;
        Assert.Equal("Conv_0", node);
        Assert.Equal(new[] { 6, 1, 5, 5 }, w.Shape);
        var kernels = FeatureGrid.Kernels(w);
        Assert.Equal(6, kernels.Maps.Count);
        Assert.Equal(-kernels.High, kernels.Low);
    }
}
