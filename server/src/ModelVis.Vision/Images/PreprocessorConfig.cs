using System.Text.Json;

namespace ModelVis.Vision.Images;

/// <summary>
/// A Hugging Face image processor's <c>preprocessor_config.json</c>: <c>size</c> ({height, width}, {shortest_edge}
/// or a number), <c>do_center_crop</c> + <c>crop_size</c>, <c>do_rescale</c> + <c>rescale_factor</c>,
/// <c>do_normalize</c> + <c>image_mean</c>/<c>image_std</c>. Resize to {height, width} stretches; shortest edge then
/// a centre crop is <see cref="ResizeMode.Crop"/> with the crop fraction crop/shortest edge.
/// </summary>
public static class PreprocessorConfig
{
    public const string FileName = "preprocessor_config.json";

    public static string? FindBeside(string modelPath)
    {
        var p = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, FileName);
        return File.Exists(p) ? p : null;
    }

    /// <summary>The preprocessing for a model taking <paramref name="channels"/> channels, read from the file.</summary>
    public static Preprocessing Load(string path, int channels)
    {
        string file = Path.GetFileName(path);
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true }).RootElement; }
        catch (JsonException e) { throw new VisionException($"{file}: not valid JSON ({e.Message})", e); }
        if (root.ValueKind != JsonValueKind.Object) throw new VisionException($"{file}: not a JSON object");
        try { return Read(root, channels); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new VisionException($"{file}: {e.Message}", e);
        }
    }

    public static Preprocessing Read(JsonElement root, int channels)
    {
        bool Flag(string key, bool fallback) => root.TryGetProperty(key, out var v) ? v.ValueKind == JsonValueKind.True : fallback;
        var (height, width, shortestEdge) = Size(root.TryGetProperty("size", out var size) ? size : default);
        var resize = ResizeMode.Stretch;
        float cropFraction = 1f;
        if (Flag("do_center_crop", false) && root.TryGetProperty("crop_size", out var crop))
        {
            var (ch, cw, cs) = Size(crop);
            int cropH = ch ?? cs ?? 224, cropW = cw ?? cs ?? 224;
            int edge = shortestEdge ?? Math.Min(height ?? cropH, width ?? cropW);
            resize = ResizeMode.Crop;
            cropFraction = Math.Min(1f, Math.Min(cropH, cropW) / (float)edge);
            (height, width) = (cropH, cropW);
        }
        else if (shortestEdge is { } edge && height == null)
        {
            // Shortest edge without a crop: a square model input is the usual case.
            resize = ResizeMode.Crop;
            (height, width) = (edge, edge);
        }
        float scale = Flag("do_rescale", true) && root.TryGetProperty("rescale_factor", out var rf) ? 1f / rf.GetSingle() : Flag("do_rescale", true) ? 255f : 1f;
        float[] mean = [0f], std = [1f];
        if (Flag("do_normalize", true))
        {
            mean = Floats(root, "image_mean") ?? (channels == 1 ? [0.5f] : Preprocessing.ImageNetMean);
            std = Floats(root, "image_std") ?? (channels == 1 ? [0.5f] : Preprocessing.ImageNetStd);
            if (channels == 1 && mean.Length == 3) mean = [mean.Average()];
            if (channels == 1 && std.Length == 3) std = [std.Average()];
        }
        var pre = new Preprocessing(channels, height ?? 224, width ?? 224, mean, std, scale, resize, CropFraction: cropFraction);
        pre.Validate();
        return pre;
    }

    static (int? Height, int? Width, int? ShortestEdge) Size(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => (e.GetInt32(), e.GetInt32(), null),
        JsonValueKind.Object => (Int(e, "height"), Int(e, "width"), Int(e, "shortest_edge")),
        _ => (null, null, null),
    };

    static int? Int(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    static float[]? Floats(JsonElement e, string key) => e.TryGetProperty(key, out var v) ? v.ValueKind switch
    {
        JsonValueKind.Number => [v.GetSingle()],
        JsonValueKind.Array => v.EnumerateArray().Select(x => x.GetSingle()).ToArray(),
        _ => null,
    } : null;
}
