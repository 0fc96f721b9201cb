using System.Globalization;
using System.Text.Json;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Onnx;

/// <summary>
/// Preprocessing written into an ONNX model's <c>metadata_props</c>. ONNX has no standard key, so the ones in use
/// are read: a whole Hugging Face processor config under <c>preprocessor_config</c>; <c>image_mean</c>/<c>mean</c>,
/// <c>image_std</c>/<c>std</c>, <c>pixel_scale</c>, <c>resize</c> (stretch, letterbox, crop), <c>channel_order</c>
/// (rgb, bgr); and Windows ML's <c>Image.BitmapPixelFormat</c> (Rgb8, Bgr8, Gray8) and <c>Image.NominalPixelRange</c>
/// (NominalRange_0_255, Normalized_0_1, Normalized_1_1).
/// </summary>
public static class OnnxPreprocessing
{
    /// <summary>The preprocessing the metadata describes, starting from <paramref name="shapeDefault"/>; null when it says nothing about it.</summary>
    public static Preprocessing? Read(IReadOnlyDictionary<string, string> metadata, Preprocessing shapeDefault, string file)
    {
        string? Get(params string[] keys) => keys.Select(k => metadata.GetValueOrDefault(k)).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
        var pre = shapeDefault;
        bool said = false;
        try
        {
            if (Get("preprocessor_config", "preprocessor_config.json") is { } hf)
            {
                var fromHf = PreprocessorConfig.Read(JsonDocument.Parse(hf).RootElement, shapeDefault.Channels);
                pre = fromHf with { Height = shapeDefault.Height, Width = shapeDefault.Width };
                said = true;
            }
            switch (Get("Image.NominalPixelRange"))
            {
                case "NominalRange_0_255": pre = pre with { PixelScale = 1f, Mean = [0f], Std = [1f] }; said = true; break;
                case "Normalized_0_1": pre = Presets.Raw.ApplyTo(pre); said = true; break;
                case "Normalized_1_1": pre = Presets.MinusOneToOne.ApplyTo(pre); said = true; break;
            }
            switch (Get("Image.BitmapPixelFormat")?.ToLowerInvariant())
            {
                case "bgr8" or "bgra8": pre = pre with { Bgr = true }; said = true; break;
                case "rgb8" or "rgba8": pre = pre with { Bgr = false }; said = true; break;
            }
            if (Get("image_mean", "mean") is { } mean) { pre = pre with { Mean = Floats(mean) }; said = true; }
            if (Get("image_std", "std") is { } std) { pre = pre with { Std = Floats(std) }; said = true; }
            if (Get("pixel_scale") is { } scale) { pre = pre with { PixelScale = float.Parse(scale, CultureInfo.InvariantCulture) }; said = true; }
            if (Get("resize") is { } resize) { pre = pre with { Resize = ParseResize(resize) }; said = true; }
            if (Get("channel_order") is { } order) { pre = pre with { Bgr = order.Trim().Equals("bgr", StringComparison.OrdinalIgnoreCase) }; said = true; }
            if (!said) return null;
            pre.Validate();
            return pre;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or VisionException)
        {
            throw new VisionException($"{file}: its metadata_props describe the preprocessing in a way ModelVis cannot read ({e.Message})", e);
        }
    }

    public static ResizeMode ParseResize(string text) => text.Trim().ToLowerInvariant() switch
    {
        "stretch" => ResizeMode.Stretch,
        "letterbox" => ResizeMode.Letterbox,
        "crop" or "center_crop" or "centre_crop" => ResizeMode.Crop,
        _ => throw new VisionException($"resize mode \"{text}\" (use stretch, letterbox or crop)"),
    };

    /// <summary>A JSON list ("[0.5, 0.5, 0.5]") or comma-separated numbers.</summary>
    static float[] Floats(string text) => text.TrimStart().StartsWith('[')
        ? JsonSerializer.Deserialize<float[]>(text) ?? throw new FormatException("an empty list")
        : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
}
