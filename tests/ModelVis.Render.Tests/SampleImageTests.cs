using ModelVis.Checkpoints;
using ModelVis.Render;
using ModelVis.Tests;

namespace ModelVis.Render.Tests;

/// <summary>Real checkpoints end to end. Set MODELVIS_RENDER_SAMPLES=/some/dir to also write the PNGs for a look.</summary>
public class SampleImageTests
{
    static void Save(string name, byte[] png)
    {
        var dir = Environment.GetEnvironmentVariable("MODELVIS_RENDER_SAMPLES");
        if (!string.IsNullOrEmpty(dir)) { Directory.CreateDirectory(dir); File.WriteAllBytes(Path.Combine(dir, name), png); }
    }

    [Fact]
    public void Gpt2_weight_matrix_renders_as_a_diverging_heatmap_read_in_chunks()
    {
        using var ckpt = CheckpointLoader.Open(Fixtures.Model("tiny-gpt2"));
        var info = ckpt.Tensors.Where(t => t.Shape.Length == 2 && t.DType.IsReadableAsFloat()).OrderByDescending(t => t.ElementCount).First();
        var t = TensorImageLayout.Render((s, d) => ckpt.ReadFloats(info, s, d), info.Shape,
            new TensorImageOptions { MaxSize = 256 });
        var all = ckpt.ReadFloats(info);
        var stats = ModelVis.Tensors.Statistics.Compute(all);
        Assert.Equal("matrix", t.Layout);
        Assert.True(t.Width <= 256 && t.Height <= 256);
        Assert.Equal((float)stats.MaxAbs, t.Scale.Limit);          // max-abs reduction keeps the extreme
        var back = SkiaPng.Decode(t.Png);
        Assert.Equal((t.Width, t.Height), (back.Width, back.Height));
        Assert.Equal(t.Image.Pixels, back.Rgba);
        Save("gpt2-" + info.Name + ".png", t.Png);

        var strip = TensorImageLayout.Render(ckpt.ReadFloats(ckpt.Tensors.First(x => x.Shape.Length == 1)), ckpt.Tensors.First(x => x.Shape.Length == 1).Shape);
        Assert.Equal("strip", strip.Layout);
        Save("gpt2-strip.png", strip.Png);
    }

    [Fact]
    public void Lenet_conv_kernels_render_as_a_grid()
    {
        var path = Directory.GetFiles(Fixtures.Model("lenet5-mnist"), "*.safetensors").First();
        using var ckpt = CheckpointLoader.Open(path);
        foreach (var info in ckpt.Tensors.Where(t => t.Shape.Length == 4))
        {
            var t = TensorImageLayout.Render(ckpt.ReadFloats(info), info.Shape);
            Assert.Equal("grid", t.Layout);
            var g = t.Grid!;
            Assert.Equal(info.Shape[^1], g.SliceCols);
            Assert.True(g.Shown > 0 && t.Width <= 512 && t.Height <= 512);
            Save("lenet-" + info.Name + ".png", t.Png);
        }
    }

    [Fact]
    public void Viridis_gradient_and_legends()
    {
        var ramp = new float[64 * 512];
        for (int y = 0; y < 64; y++) for (int x = 0; x < 512; x++) ramp[y * 512 + x] = x / 511f;
        foreach (var name in Colormap.Names)
        {
            var map = Colormap.Get(name);
            var img = Heatmap.Render(ramp, 64, 512, map, map.IsDiverging ? -0f : 0f, 1f);
            if (map.IsDiverging) img = Heatmap.Render(ramp.Select(v => v * 2 - 1).ToArray(), 64, 512, map, -1, 1);
            Assert.Equal(map[0], img[0, 0]);
            Assert.Equal(map[map.Size - 1], img[511, 63]);
            Save($"gradient-{name}.png", img.ToPng());
        }
    }
}
