using ModelVis.Checkpoints;
using ModelVis.Tests;
using ModelVis.Vision.Images;
using ModelVis.Vision.Torchvision;

namespace ModelVis.Vision.Tests;

/// <summary>
/// State dicts without a sidecar: the torchvision architectures are recognised from their full key sets and
/// shapes (written from torchvision's constructors in <see cref="TorchvisionStateDicts"/>), written as .pth files
/// with random weights they run to the expected shapes, and the real LeNet-5 predicts the fixture digits.
/// </summary>
public class RecognitionTests
{
    public static TheoryData<string, string> FullSize() => new()
    {
        { "lenet", "LeNet-5" }, { "alexnet", "AlexNet" },
        { "vgg11", "VGG-11" }, { "vgg13", "VGG-13" }, { "vgg16", "VGG-16" }, { "vgg19", "VGG-19" },
        { "vgg11_bn", "VGG-11 with BatchNorm" }, { "vgg13_bn", "VGG-13 with BatchNorm" }, { "vgg16_bn", "VGG-16 with BatchNorm" }, { "vgg19_bn", "VGG-19 with BatchNorm" },
        { "resnet18", "ResNet-18" }, { "resnet34", "ResNet-34" }, { "resnet50", "ResNet-50" }, { "resnet101", "ResNet-101" }, { "resnet152", "ResNet-152" },
        { "mobilenet_v2", "MobileNetV2" }, { "mobilenet_v3_large", "MobileNetV3 Large" }, { "mobilenet_v3_small", "MobileNetV3 Small" },
        { "densenet121", "DenseNet-121" }, { "efficientnet_b0", "EfficientNet-B0" },
    };

    static StateDict Make(string arch, int div = 1) => arch switch
    {
        "lenet" => TorchvisionStateDicts.LeNet(),
        "alexnet" => TorchvisionStateDicts.AlexNet(div),
        "mobilenet_v2" => TorchvisionStateDicts.MobileNetV2(),
        "mobilenet_v3_large" => TorchvisionStateDicts.MobileNetV3(large: true),
        "mobilenet_v3_small" => TorchvisionStateDicts.MobileNetV3(large: false),
        "densenet121" => TorchvisionStateDicts.DenseNet121(div),
        "efficientnet_b0" => TorchvisionStateDicts.EfficientNetB0(),
        _ when arch.StartsWith("vgg") => TorchvisionStateDicts.Vgg(int.Parse(arch[3..5]), arch.EndsWith("_bn"), div),
        _ when arch.StartsWith("resnet") => TorchvisionStateDicts.ResNet(int.Parse(arch[6..]), div),
        _ => throw new ArgumentException(arch),
    };

    [Theory]
    [MemberData(nameof(FullSize))]
    public void Recognises_the_full_torchvision_key_set(string arch, string expected)
    {
        var recognised = Recognition.Recognise(Make(arch).Shapes, out var reasons);
        Assert.True(recognised != null, string.Join("\n", reasons));
        Assert.Equal(expected, recognised.Name);
        Assert.Equal(arch == "lenet" ? 10 : 1000, recognised.Classes);
        Assert.Equal(arch == "lenet" ? 1 : 3, recognised.InputChannels);
        if (arch != "lenet")
        {
            Assert.Equal("tench", recognised.Labels![0]);
            Assert.Equal(ResizeMode.Crop, recognised.Preprocessing.Resize);
            Assert.False(recognised.PreprocessingIsGuess);
        }
    }

    [Fact]
    public void A_key_too_many_or_too_few_is_not_recognised()
    {
        var extra = TorchvisionStateDicts.ResNet(18).Shapes;
        extra["layer4.1.extra.weight"] = [8];
        Assert.Null(Recognition.Recognise(extra, out var reasons));
        Assert.Contains(reasons, r => r.StartsWith("ResNet:") && r.Contains("layer4.1.extra.weight"));

        var missing = TorchvisionStateDicts.Vgg(16, batchNorm: false).Shapes;
        missing.Remove("classifier.3.bias");
        Assert.Null(Recognition.Recognise(missing, out _));

        var reshaped = TorchvisionStateDicts.MobileNetV2().Shapes;
        reshaped["features.18.0.weight"] = [1280, 321, 1, 1];
        Assert.Null(Recognition.Recognise(reshaped, out _));
    }

    /// <summary>The architecture's last feature maps for a 64×64 input (what global/adaptive pooling then reduces), and the class count.</summary>
    public static TheoryData<string, int, string, int[]> Runs() => new()
    {
        { "alexnet", 8, "features.12", [32, 1, 1] },
        { "vgg11", 8, "features.20", [64, 2, 2] },
        { "vgg19_bn", 8, "features.52", [64, 2, 2] },
        { "resnet18", 4, "layer4.1.relu", [128, 2, 2] },
        { "resnet50", 8, "layer4.2.relu", [256, 2, 2] },
        { "resnet152", 8, "layer4.2.relu", [256, 2, 2] },
        { "mobilenet_v2", 1, "features.18.2", [1280, 2, 2] },
        { "mobilenet_v3_large", 1, "features.16.2", [960, 2, 2] },
        { "mobilenet_v3_small", 1, "features.12.2", [576, 2, 2] },
        { "densenet121", 4, "relu", [256, 2, 2] },
        { "efficientnet_b0", 1, "features.8.2", [1280, 2, 2] },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Recognised_state_dict_runs_to_the_expected_shapes(string arch, int div, string lastMaps, int[] lastShape)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File(arch + ".pth");
        Make(arch, div).WritePth(path);
        var model = VisionModel.Open(path);
        Assert.Equal("state-dict+recognised", model.Kind);
        Assert.Equal(PreprocessingSource.Architecture, model.Preprocessing.Source);
        var pixels = new byte[80 * 64 * 3];
        new Random(7).NextBytes(pixels);
        var run = model.Run(new ImagePixels(80, 64, 3, pixels), model.DefaultPreprocessing with { Width = 64, Height = 64 });
        Assert.Equal([1, 3, 64, 64], run.Input.Shape);
        Assert.Equal(lastShape, run.Layer(lastMaps).Shape);
        Assert.Equal([1, 1000], run.Logits.Shape);
        Assert.All(run.Logits.Floats, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1f, run.Probabilities!.Sum(), 3);
        Assert.Equal(5, run.Top5.Count);
        Assert.NotNull(run.Top5[0].Label);
        // CAM needs global average pooling straight into one linear classifier: not AlexNet/VGG (three linears on 6×6/7×7) nor MobileNetV3 (two).
        Assert.Equal(!(arch == "alexnet" || arch.StartsWith("vgg") || arch.StartsWith("mobilenet_v3")), run.Cam != null);
    }

    /// <summary>torchvision's own models (narrow widths, F16 weights), made by Data/torchvision/make_references.py with torchvision 0.14.1.</summary>
    public static TheoryData<string, string> TorchvisionReferences() => new()
    {
        { "mobilenet_v3_small", "MobileNetV3 Small" },
        { "densenet121_narrow", "DenseNet-121" },
        { "efficientnet_b0_narrow", "EfficientNet (1,2,2,3,3,4,1 blocks)" },
    };

    [Theory]
    [MemberData(nameof(TorchvisionReferences))]
    public void A_state_dict_saved_by_torchvision_gives_torchvision_s_logits(string name, string architecture)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Data", "torchvision");
        var model = VisionModel.Open(Path.Combine(dir, name + ".pth"));
        Assert.Equal(architecture, model.Architecture);
        // The script's input: x[c, h, w] = sin(0.37·(h + 1)·(c + 1)) + cos(0.23·(w + 1)) − 0.1·c, in float64, rounded to float32.
        var x = new float[3 * 64 * 64];
        for (int c = 0; c < 3; c++)
            for (int h = 0; h < 64; h++)
                for (int w = 0; w < 64; w++)
                    x[(c * 64 + h) * 64 + w] = (float)(Math.Sin(0.37 * (h + 1) * (c + 1)) + Math.Cos(0.23 * (w + 1)) - 0.1 * c);
        var logits = model.Run(NdArray.Of(x, 1, 3, 64, 64)).Logits.Floats;
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, name + ".json")));
        var reference = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(reference.Length, logits.Length);
        for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i], logits[i], 2e-4f);
    }

    [Fact]
    public void The_LeNet_fixture_state_dict_predicts_the_fixture_digits_with_the_MNIST_preset()
    {
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.pth"));
        Assert.Equal("LeNet-5", model.Architecture);
        Assert.True(model.Preprocessing.IsGuess);
        Assert.Same(Presets.Mnist, Presets.Find(model.DefaultPreprocessing));
        foreach (var testCase in LeNetConformanceTests.CaseNames)
        {
            int label = testCase[^1] - '0';
            var image = ImageDecoder.Read(Fixtures.Path_("inputs", "mnist-png", testCase + ".png"));
            var run = model.Run(image);
            Assert.Equal(label, run.PredictedClass);
            Assert.Equal(label.ToString(), run.Top5[0].Label);
            using var expected = CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", testCase + ".safetensors"));
            var reference = expected.ReadFloats("logits");
            var logits = run.Logits.Floats;
            for (int i = 0; i < 10; i++) Assert.Equal(reference[i], logits[i], 1e-3f);
        }
    }

    [Fact]
    public void A_state_dict_inside_a_training_checkpoint_or_DataParallel_is_found_under_its_key()
    {
        // torch.save({"state_dict": model.state_dict(), "optimizer": …}) of an nn.DataParallel model: state_dict.module.*
        var shapes = TorchvisionStateDicts.MobileNetV3(large: false).Shapes.ToDictionary(kv => "state_dict.module." + kv.Key, kv => kv.Value);
        shapes["optimizer.state.0.momentum_buffer"] = [16, 3, 3, 3];
        var recognised = Recognition.Recognise(shapes, out _);
        Assert.NotNull(recognised);
        Assert.Equal(("MobileNetV3 Small", "state_dict.module."), (recognised.Name, recognised.Prefix));

        using var dir = new Fixtures.TempDir();
        var d = new StateDict();
        foreach (var (name, shape) in TorchvisionStateDicts.LeNet().Tensors) d.Tensors.Add(("module." + name, shape));
        d.WritePth(dir.File("dp.pth"));
        var model = VisionModel.Open(dir.File("dp.pth"));
        Assert.Equal("LeNet-5", model.Architecture);
        Assert.Equal([1, 10], model.Run(new ImagePixels(28, 28, 1, new byte[784])).Logits.Shape);
    }

    [Fact]
    public void A_sidecar_without_layers_beside_a_recognised_state_dict_gives_its_preprocessing_and_labels()
    {
        using var dir = new Fixtures.TempDir();
        TorchvisionStateDicts.LeNet().WritePth(dir.File("digits.pth"));
        File.WriteAllText(dir.File("digits.arch.json"), """{"input": {"channels": 1, "height": 28, "width": 28, "mean": [0.5], "std": [0.5], "resize": "letterbox"}, "labels": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]}""");
        var model = VisionModel.Open(dir.File("digits.pth"));
        Assert.Equal(("state-dict+recognised", "LeNet-5"), (model.Kind, model.Architecture));
        Assert.Equal(PreprocessingSource.Sidecar, model.Preprocessing.Source);
        Assert.Same(Presets.MinusOneToOne, Presets.Find(model.DefaultPreprocessing));
        Assert.Equal(ResizeMode.Letterbox, model.DefaultPreprocessing.Resize);
        Assert.Equal("seven", model.Labels![7]);
    }

    [Fact]
    public void An_unrecognised_state_dict_says_what_is_recognised_and_what_to_do()
    {
        using var dir = new Fixtures.TempDir();
        var d = new StateDict();
        d.Conv("stem", 3, 8, 3, bias: true);
        d.Linear("head", 8, 4);
        var path = dir.File("mystery.pth");
        d.WritePth(path);
        var e = Assert.Throws<VisionException>(() => VisionModel.Open(path));
        Assert.Contains("ResNet-18/34/50/101/152", e.Message);
        Assert.Contains("mystery.arch.json", e.Message);
        Assert.DoesNotContain("docs/", e.Message);

        // A near miss is named: a ResNet-18 with a layer torchvision's does not have.
        var extra = TorchvisionStateDicts.ResNet(18, div: 8);
        extra.Tensors.Add(("layer4.1.se.weight", [64]));
        extra.WritePth(dir.File("custom.pth"));
        var near = Assert.Throws<VisionException>(() => VisionModel.Open(dir.File("custom.pth")));
        Assert.Contains("Nearest: ResNet: tensors it does not use: layer4.1.se.weight", near.Message);
    }
}
