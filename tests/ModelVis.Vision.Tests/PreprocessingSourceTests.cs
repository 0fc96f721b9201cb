using System.Text.Json;
using ModelVis.Tests;
using ModelVis.Vision.Images;

namespace ModelVis.Vision.Tests;

/// <summary>
/// Where a model's preprocessing comes from — a Hugging Face preprocessor_config.json beside it, ONNX
/// metadata_props, the sidecar, the recognised architecture, else a guess said to be one — and what the resize
/// modes and presets do to a picture.
/// </summary>
public class PreprocessingSourceTests
{
    static Preprocessing Read(string json, int channels = 3) => PreprocessorConfig.Read(JsonDocument.Parse(json).RootElement, channels);

    [Fact]
    public void Preprocessor_config_of_a_ViT_stretches_to_its_size_and_normalises_to_minus_one_one()
    {
        // google/vit-base-patch16-224's config: resize to 224×224, rescale 1/255, mean = std = 0.5.
        var p = Read("""{"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}}""");
        Assert.Equal((224, 224, ResizeMode.Stretch), (p.Height, p.Width, p.Resize));
        Assert.Equal(255f, p.PixelScale, 3);
        Assert.Same(Presets.MinusOneToOne, Presets.Find(p));
    }

    [Fact]
    public void Preprocessor_config_with_shortest_edge_and_centre_crop_is_a_crop_with_that_fraction()
    {
        // microsoft/resnet-50 style (ConvNext processor): shortest edge 256, centre crop 224, ImageNet statistics.
        var p = Read("""{"do_center_crop": true, "crop_size": {"height": 224, "width": 224}, "do_normalize": true, "do_resize": true, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "size": {"shortest_edge": 256}}""");
        Assert.Equal((224, 224, ResizeMode.Crop), (p.Height, p.Width, p.Resize));
        Assert.Equal(0.875f, p.CropFraction, 5);
        Assert.Same(Presets.ImageNet, Presets.Find(p));
    }

    [Fact]
    public void Preprocessor_config_without_rescale_or_normalise_feeds_raw_pixels()
    {
        var p = Read("""{"do_rescale": false, "do_normalize": false, "size": 32}""", channels: 1);
        Assert.Equal((1, 32, 32, 1f), (p.Channels, p.Height, p.Width, p.PixelScale));
        Assert.Equal([0f], p.Mean);
        Assert.Equal([1f], p.Std);
    }

    [Fact]
    public void A_preprocessor_config_beside_an_ONNX_model_is_what_the_model_opens_with()
    {
        using var dir = new Fixtures.TempDir();
        File.Copy(Path.Combine(Fixtures.Model("lenet5-mnist"), "lenet.onnx"), dir.File("lenet.onnx"));
        var opened = VisionModel.Open(dir.File("lenet.onnx"));
        Assert.Equal(PreprocessingSource.Guess, opened.Preprocessing.Source); // nothing beside it: a guess, and said so
        Assert.True(opened.Preprocessing.IsGuess);
        Assert.Same(Presets.Raw, Presets.Find(opened.DefaultPreprocessing));

        File.WriteAllText(dir.File(PreprocessorConfig.FileName), """{"image_mean": [0.1307], "image_std": [0.3081], "size": {"height": 28, "width": 28}}""");
        var model = VisionModel.Open(dir.File("lenet.onnx"));
        Assert.Equal(PreprocessingSource.PreprocessorConfig, model.Preprocessing.Source);
        Assert.False(model.Preprocessing.IsGuess);
        Assert.Same(Presets.Mnist, Presets.Find(model.DefaultPreprocessing));
        // With it, the fixture digit "2" is read right.
        var run = model.Run(ImageDecoder.Read(Fixtures.Path_("inputs", "mnist-png", "mnist_test_01_label2.png")));
        Assert.Equal(2, run.PredictedClass);
    }

    [Fact]
    public void ONNX_metadata_props_give_normalisation_and_channel_order()
    {
        using var dir = new Fixtures.TempDir();
        var b = new OnnxBuilder().Input("x", 1, 3, 4, 4).Output("y");
        b.Node("Relu", "relu", ["x"], ["y"]);
        b.Metadata["image_mean"] = "[127, 127, 127]";
        b.Metadata["image_std"] = "128";
        b.Metadata["pixel_scale"] = "1";
        b.Metadata["Image.BitmapPixelFormat"] = "Bgr8";
        File.WriteAllBytes(dir.File("m.onnx"), b.Build());
        var model = VisionModel.Open(dir.File("m.onnx"));
        Assert.Equal(PreprocessingSource.OnnxMetadata, model.Preprocessing.Source);
        var pre = model.DefaultPreprocessing;
        Assert.True(pre.Bgr);
        Assert.Same(Presets.Centred127, Presets.Find(pre));
        // A pure red 4×4 picture: in BGR order the red value lands in the last plane.
        var red = Enumerable.Repeat(new byte[] { 255, 0, 0 }, 16).SelectMany(x => x).ToArray();
        var x = pre.Apply(new ImagePixels(4, 4, 3, red)).Floats;
        Assert.Equal((0 - 127f) / 128, x[0]);
        Assert.Equal((255 - 127f) / 128, x[2 * 16]);
    }

    [Fact]
    public void Letterbox_keeps_the_aspect_ratio_with_black_bars_and_crop_cuts_the_centre()
    {
        // A 4×2 picture: left half white, right half grey 100. Into 4×4.
        var px = new byte[4 * 2];
        for (int y = 0; y < 2; y++) for (int x = 0; x < 4; x++) px[y * 4 + x] = (byte)(x < 2 ? 255 : 100);
        var image = new ImagePixels(4, 2, 1, px);
        var raw = new Preprocessing(1, 4, 4, [0f], [1f], PixelScale: 1f);

        var letterbox = (raw with { Resize = ResizeMode.Letterbox }).Apply(image).Floats;
        Assert.Equal(new float[] { 0, 0, 0, 0, 255, 255, 100, 100, 255, 255, 100, 100, 0, 0, 0, 0 }, letterbox);

        // Cover 4×4 → the picture scaled to 8×4, the centre 4 columns kept: two white, two grey.
        var crop = (raw with { Resize = ResizeMode.Crop }).Apply(image).Floats;
        Assert.Equal(4 * 4, crop.Length);
        for (int y = 0; y < 4; y++)
        {
            Assert.Equal(255f, crop[y * 4], 0.5f);
            Assert.Equal(100f, crop[y * 4 + 3], 0.5f);
        }

        var stretch = raw.Apply(image).Floats; // both halves keep their side, the rows double
        Assert.Equal(255f, stretch[0], 0.5f);
        Assert.Equal(100f, stretch[15], 0.5f);
    }

    [Fact]
    public void A_per_channel_preset_on_a_grey_model_is_refused_with_the_reason()
    {
        var e = Assert.Throws<VisionException>(() => Presets.ImageNet.ApplyTo(new Preprocessing(1, 28, 28, [0f], [1f])));
        Assert.Contains("one value per RGB channel", e.Message);
        Assert.Throws<VisionException>(() => Presets.Get("imagenet21k"));
    }

    [Fact]
    public void UltraFace_opens_with_a_guess_and_the_centred_127_preset_is_its_provenance()
    {
        // PROVENANCE.md: input (rgb − 127) / 128; satya.jpg's best face score 0.992. The ONNX file says nothing itself.
        var model = VisionModel.Open(Path.Combine(Fixtures.Model("ultraface-rfb320"), "version-RFB-320.onnx"));
        Assert.Equal(PreprocessingSource.Guess, model.Preprocessing.Source);
        Assert.Same(Presets.ImageNet, Presets.Find(model.DefaultPreprocessing));
        Assert.Equal(ResizeMode.Letterbox, model.DefaultPreprocessing.Resize);
        var photo = ImageDecoder.Read(Path.Combine(Fixtures.Model("ultraface-rfb320"), "satya.jpg"));
        float BestFace(Preprocessing pre)
        {
            var s = model.Run(photo, pre, captureAll: false).Outputs["scores"].Floats;
            return Enumerable.Range(0, s.Length / 2).Max(i => s[2 * i + 1]);
        }
        var provenance = Presets.Centred127.ApplyTo(model.DefaultPreprocessing);
        Assert.Equal([127f], provenance.Mean);
        Assert.Equal([128f], provenance.Std);
        Assert.Equal(1f, provenance.PixelScale);
        float stretched = BestFace(provenance with { Resize = ResizeMode.Stretch }), letterboxed = BestFace(provenance);
        Assert.True(stretched > 0.99f, $"stretched {stretched}");
        Assert.True(letterboxed > 0.9f, $"letterboxed {letterboxed}");
    }
}
