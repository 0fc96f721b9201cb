namespace ModelVis.Vision.Images;

/// <summary>A named normalisation: x = (pixel / PixelScale − Mean) / Std, with one value or one per channel.</summary>
public sealed record Preset(string Id, string Label, float PixelScale, float[] Mean, float[] Std)
{
    /// <summary>The model's preprocessing with this normalisation (size, resize mode and channel order kept).</summary>
    public Preprocessing ApplyTo(Preprocessing pre)
    {
        if (Mean.Length > 1 && pre.Channels != Mean.Length)
            throw new VisionException($"the {Label} preset has one value per RGB channel, but the model takes {pre.Channels} channel{(pre.Channels == 1 ? "" : "s")}");
        return pre with { PixelScale = PixelScale, Mean = Mean, Std = Std };
    }

    public bool Matches(Preprocessing pre) =>
        Math.Abs(pre.PixelScale - PixelScale) <= 1e-4f * PixelScale && Same(pre.Mean, Mean, pre.Channels) && Same(pre.Std, Std, pre.Channels);

    static bool Same(float[] a, float[] b, int channels) =>
        Enumerable.Range(0, channels).All(c => Math.Abs(a[a.Length == 1 ? 0 : c] - b[b.Length == 1 ? 0 : Math.Min(c, b.Length - 1)]) < 1e-6f);
}

/// <summary>The normalisations models are commonly trained with.</summary>
public static class Presets
{
    public static readonly Preset ImageNet = new("imagenet", "ImageNet mean/std", 255f, Preprocessing.ImageNetMean, Preprocessing.ImageNetStd);
    public static readonly Preset Mnist = new("mnist", "MNIST mean/std (0.1307/0.3081)", 255f, [0.1307f], [0.3081f]);
    public static readonly Preset MinusOneToOne = new("minus-one-one", "[−1, 1] (pixel/127.5 − 1)", 255f, [0.5f], [0.5f]);
    public static readonly Preset Centred127 = new("centred-127", "(pixel − 127) / 128", 1f, [127f], [128f]);
    public static readonly Preset Raw = new("raw", "raw 0–1 (pixel/255)", 255f, [0f], [1f]);

    public static IReadOnlyList<Preset> All { get; } = [ImageNet, Mnist, MinusOneToOne, Centred127, Raw];

    public static Preset Get(string id) => All.FirstOrDefault(p => p.Id == id)
        ?? throw new VisionException($"unknown preprocessing preset \"{id}\" (known: {string.Join(", ", All.Select(p => p.Id))})");

    /// <summary>The preset whose normalisation this is, if any.</summary>
    public static Preset? Find(Preprocessing pre) => All.FirstOrDefault(p => (p.Mean.Length == 1 || p.Mean.Length == pre.Channels) && p.Matches(pre));
}

/// <summary>Where a model's preprocessing was read from.</summary>
public enum PreprocessingSource
{
    /// <summary>The model's architecture sidecar (<c>NAME.arch.json</c>), its "input" block.</summary>
    Sidecar,
    /// <summary>A Hugging Face <c>preprocessor_config.json</c> beside the model.</summary>
    PreprocessorConfig,
    /// <summary>The ONNX model's <c>metadata_props</c>.</summary>
    OnnxMetadata,
    /// <summary>The recognised architecture (torchvision's published transforms, or a convention).</summary>
    Architecture,
    /// <summary>Nothing says: a guess from the input shape.</summary>
    Guess,
}

/// <summary>The preprocessing a model opens with, where it came from, and whether it is a guess.</summary>
public sealed record ResolvedPreprocessing(Preprocessing Value, PreprocessingSource Source, string Detail, bool IsGuess);
