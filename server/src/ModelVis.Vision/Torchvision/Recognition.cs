using ModelVis.Checkpoints;
using ModelVis.Vision.Graph;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Torchvision;

/// <summary>An architecture recognised from a state dict's tensor names and shapes, with its graph written but no weights read.</summary>
public sealed record RecognisedArchitecture
{
    public required string Name { get; init; }
    public required int InputChannels { get; init; }
    public required int InputSide { get; init; }
    /// <summary>Whether the network needs exactly InputSide² pictures (LeNet's flatten); the ImageNet models pool adaptively and take any size.</summary>
    public required bool FixedSize { get; init; }
    public required int Classes { get; init; }
    public required Preprocessing Preprocessing { get; init; }
    /// <summary>Where the preprocessing comes from, in words.</summary>
    public required string PreprocessingDetail { get; init; }
    /// <summary>Whether the preprocessing is a convention guessed from the architecture rather than documented for its weights.</summary>
    public required bool PreprocessingIsGuess { get; init; }
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Where the state dict sits in the file: "" at the top, else a wrapper's key such as <c>module.</c> or <c>state_dict.</c>.</summary>
    public string Prefix { get; init; } = "";
    internal GraphBuilder Builder { get; init; } = null!;
    internal string Output { get; init; } = "";

    /// <summary>The graph with the checkpoint's weights.</summary>
    public VisionGraph Build(ICheckpoint weights) =>
        Builder.Finish(Output, FixedSize ? [1, InputChannels, InputSide, InputSide] : [1, InputChannels, -1, -1], key =>
        {
            var info = weights.Get(Prefix + key);
            return NdArray.Of(weights.ReadFloats(info), info.Shape.Select(d => checked((int)d)).ToArray());
        });
}

/// <summary>
/// Recognises the torchvision classification architectures (and the LeNet-5 of the MNIST tutorials) in a
/// state dict without a sidecar: each architecture writes its graph against the tensor names and shapes, and
/// the first that finds every tensor it needs with the right shape, and leaves none unused, is the one.
/// </summary>
public static class Recognition
{
    public const string Known = "LeNet-5, AlexNet, VGG-11/13/16/19 (with or without BatchNorm), ResNet-18/34/50/101/152, MobileNetV2, MobileNetV3 Large/Small, DenseNet-121, EfficientNet-B0";

    static readonly (string Family, Func<GraphBuilder, (string Name, string Output, int Side)> Build)[] Architectures =
    [
        ("LeNet", LeNet.Build),
        ("ResNet", b => Square(ResNet.Build(b))),
        ("AlexNet", b => Square(AlexNet.Build(b))),
        ("VGG", b => Square(Vgg.Build(b))),
        ("DenseNet", b => Square(DenseNet.Build(b))),
        ("MobileNetV2", b => Square(MobileNetV2.Build(b))),
        ("MobileNetV3", b => Square(MobileNetV3.Build(b))),
        ("EfficientNet", b => Square(EfficientNet.Build(b))),
    ];

    /// <summary>ImageNet models take 224×224 RGB.</summary>
    static (string, string, int) Square((string Name, string Output) built) => (built.Name, built.Output, 224);

    /// <summary>A checkpoint's tensor names and shapes.</summary>
    public static IReadOnlyDictionary<string, int[]> ShapesOf(ICheckpoint weights) =>
        weights.Tensors.ToDictionary(t => t.Name, t => t.Shape.Select(d => (int)Math.Min(d, int.MaxValue)).ToArray(), StringComparer.Ordinal);

    /// <summary>
    /// Where state dicts are found inside saved files: at the top, under <c>nn.DataParallel</c>'s <c>module.</c>, or
    /// in a training checkpoint's dictionary (<c>torch.save({"state_dict": …, "optimizer": …})</c>, Lightning's
    /// <c>state_dict.model.</c>), whose other entries are then left alone.
    /// </summary>
    static readonly string[] Wrappers = ["", "module.", "model.", "state_dict.", "state_dict.module.", "state_dict.model.", "model_state_dict.", "model_state_dict.module."];

    /// <summary>The architecture of a state dict given as tensor names and shapes; null, with each candidate's reason in <paramref name="reasons"/>, when none fits.</summary>
    public static RecognisedArchitecture? Recognise(IReadOnlyDictionary<string, int[]> shapes, out List<string> reasons)
    {
        reasons = [];
        foreach (var prefix in Wrappers)
        {
            var inner = prefix.Length == 0 ? shapes
                : shapes.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
            if (inner.Count == 0) continue;
            var found = RecogniseAt(inner, prefix.Length == 0 ? reasons : []);
            if (found != null) return found with { Prefix = prefix };
        }
        return null;
    }

    static RecognisedArchitecture? RecogniseAt(IReadOnlyDictionary<string, int[]> shapes, List<string> reasons)
    {
        foreach (var (family, build) in Architectures)
        {
            int inputChannels = family == "LeNet" && shapes.TryGetValue("conv1.weight", out var c1) && c1.Length == 4 ? c1[1] : 3;
            var builder = new GraphBuilder(shapes, inputChannels);
            try
            {
                var (name, output, side) = build(builder);
                var unused = builder.Unused.Take(4).ToList();
                if (unused.Count > 0) throw new LayoutMismatch($"tensors it does not use: {string.Join(", ", unused)}");
                int classes = builder.Channels(output);
                return family == "LeNet" ? LeNetModel(name, builder, output, inputChannels, side, classes) : ImageNetModel(name, builder, output, classes);
            }
            catch (LayoutMismatch e) { reasons.Add($"{family}: {e.Message}"); }
        }
        return null;
    }

    static RecognisedArchitecture LeNetModel(string name, GraphBuilder b, string output, int channels, int side, int classes) => new()
    {
        Name = name, Builder = b, Output = output, InputChannels = channels, InputSide = side, FixedSize = true, Classes = classes,
        Preprocessing = channels == 1
            ? Presets.Mnist.ApplyTo(new Preprocessing(1, side, side, [0f], [1f]))
            : Preprocessing.DefaultFor(channels, side, side),
        PreprocessingDetail = channels == 1
            ? $"a LeNet-5 on {side}×{side} grey pictures is most likely an MNIST model, so MNIST's mean and std are assumed"
            : $"a LeNet-5 on {side}×{side} colour pictures: ImageNet statistics are assumed",
        PreprocessingIsGuess = true,
        Labels = classes == 10 ? Enumerable.Range(0, 10).Select(i => i.ToString()).ToList() : null,
    };

    static RecognisedArchitecture ImageNetModel(string name, GraphBuilder b, string output, int classes) => new()
    {
        Name = name, Builder = b, Output = output, InputChannels = 3, InputSide = 224, FixedSize = false, Classes = classes,
        Preprocessing = new Preprocessing(3, 224, 224, Preprocessing.ImageNetMean, Preprocessing.ImageNetStd, Resize: ResizeMode.Crop, CropFraction: 224f / 256),
        PreprocessingDetail = "torchvision's ImageNet weights: resize to 256, centre crop 224, ImageNet mean and std",
        PreprocessingIsGuess = false,
        Labels = classes == 1000 ? ImageNetClasses.Names : null,
    };
}

/// <summary>The 1,000 ImageNet-1k class names in the order of torchvision's (and Keras') classifier heads.</summary>
public static class ImageNetClasses
{
    static readonly Lazy<IReadOnlyList<string>> Lines = new(() =>
    {
        using var stream = typeof(ImageNetClasses).Assembly.GetManifestResourceStream("ModelVis.Vision.imagenet-classes.txt")
            ?? throw new InvalidOperationException("the ImageNet class list is not embedded in ModelVis.Vision");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    });

    public static IReadOnlyList<string> Names => Lines.Value;
}
