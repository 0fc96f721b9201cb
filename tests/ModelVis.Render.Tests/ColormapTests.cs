using ModelVis.Render;

namespace ModelVis.Render.Tests;

public class ColormapTests
{
    static double Luminance(Rgba c)
    {
        static double Lin(byte v) { double s = v / 255.0; return s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4); }
        return 0.2126 * Lin(c.R) + 0.7152 * Lin(c.G) + 0.0722 * Lin(c.B);
    }

    [Fact]
    public void Viridis_and_magma_match_matplotlib_data()
    {
        // matplotlib _viridis_data[0], [128], [255] and _magma_data[0], [255], × 255 rounded.
        Assert.Equal(256, Colormap.Viridis.Size);
        Assert.Equal(Rgba.FromHex("#440154"), Colormap.Viridis[0]);     // 0.267004, 0.004874, 0.329415
        Assert.Equal(Rgba.FromHex("#21918c"), Colormap.Viridis[128]);   // 0.127568, 0.566949, 0.550556
        Assert.Equal(Rgba.FromHex("#fde725"), Colormap.Viridis[255]);   // 0.993248, 0.906157, 0.143936
        Assert.Equal(Rgba.FromHex("#000004"), Colormap.Magma[0]);       // 0.001462, 0.000466, 0.013866
        Assert.Equal(Rgba.FromHex("#390f6e"), Colormap.Magma[50]);      // 0.225302, 0.060445, 0.431742
        Assert.Equal(Rgba.FromHex("#fcfdbf"), Colormap.Magma[255]);     // 0.987053, 0.991438, 0.749504
    }

    [Theory]
    [InlineData("viridis")]
    [InlineData("magma")]
    [InlineData("gray")]
    public void Sequential_maps_rise_in_lightness_without_jumps(string name)
    {
        var map = Colormap.Get(name);
        for (int i = 1; i < map.Size; i++)
        {
            Assert.True(Luminance(map[i]) >= Luminance(map[i - 1]) - 1e-3, $"{name}[{i}] darker than [{i - 1}]");
            var (a, b) = (map[i - 1], map[i]);
            Assert.True(Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B) <= 12, $"{name} jumps at {i}: {a} → {b}");
        }
    }

    [Fact]
    public void Diverging_map_is_blue_white_red_with_white_at_zero()
    {
        var map = Colormap.RdBu;
        Assert.True(map.IsDiverging);
        Assert.Equal(Rgba.FromHex("#053061"), map.Map(-1f, -1f, 1f));
        Assert.Equal(Rgba.FromHex("#f7f7f7"), map.Map(0f, -1f, 1f));
        Assert.Equal(Rgba.FromHex("#67001f"), map.Map(1f, -1f, 1f));
        var neg = map.Map(-0.5f, -1f, 1f);
        var pos = map.Map(0.5f, -1f, 1f);
        Assert.True(neg.B > neg.R, $"negative is bluish: {neg}");
        Assert.True(pos.R > pos.B, $"positive is reddish: {pos}");
        // Symmetric in lightness about zero (both sides equally visible).
        for (int i = 0; i < 127; i++)
            Assert.True(Math.Abs(Luminance(map[i]) - Luminance(map[254 - i])) < 0.12, $"asymmetric at {i}");
    }

    [Fact]
    public void NaN_has_its_own_colour_and_infinities_clamp()
    {
        foreach (var name in Colormap.Names)
        {
            var map = Colormap.Get(name);
            var px = new uint[5];
            map.Apply([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 10f, -10f], -1f, 1f, px);
            Assert.Equal(map.Bad.Packed, px[0]);
            Assert.Equal(map[map.Size - 1].Packed, px[1]);
            Assert.Equal(map[0].Packed, px[2]);
            Assert.Equal(map[map.Size - 1].Packed, px[3]);
            Assert.Equal(map[0].Packed, px[4]);
            Assert.DoesNotContain(map.Bad.Packed, map.Table.ToArray());
            // Every entry is at least some distance from Bad, so NaN stands out.
            foreach (var c in map.Table)
            {
                var e = Rgba.FromPacked(c);
                Assert.True(Math.Abs(e.R - map.Bad.R) + Math.Abs(e.G - map.Bad.G) + Math.Abs(e.B - map.Bad.B) > 150, $"{name}: {e} close to bad {map.Bad}");
            }
        }
    }

    [Fact]
    public void Apply_agrees_with_Map_and_handles_a_degenerate_range()
    {
        var values = Enumerable.Range(0, 1001).Select(i => -2f + i * 0.004f).ToArray();
        var px = new uint[values.Length];
        Colormap.Viridis.Apply(values, -1.5f, 1.5f, px);
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(Colormap.Viridis.Map(values[i], -1.5f, 1.5f).Packed, px[i]);
        Colormap.Viridis.Apply([3f, 3f], 3f, 3f, px);
        Assert.Equal(Colormap.Viridis.Map(0.5f).Packed, px[0]);
    }

    [Fact]
    public void Names_resolve_and_unknown_names_say_what_exists()
    {
        Assert.Same(Colormap.RdBu, Colormap.Get("RdBu_r"));
        Assert.Same(Colormap.Gray, Colormap.Get("grey"));
        Assert.Contains("viridis", Assert.Throws<ArgumentException>(() => Colormap.Get("jet")).Message);
    }

    [Fact]
    public void Color_scales_choose_symmetric_and_robust_limits()
    {
        var v = Enumerable.Range(0, 1000).Select(i => (i - 500) / 100f).Append(float.NaN).Append(1000f).ToArray();
        var full = ColorScale.Diverging(v);
        Assert.Equal((-1000f, 1000f, 1000f), (full.Low, full.High, full.Limit));
        Assert.Equal((-5f, 1000f), (full.Min, full.Max));
        var robust = ColorScale.Diverging(v, 99);
        Assert.InRange(robust.Limit, 4.8f, 5f);
        Assert.Equal(-robust.Limit, robust.Low);
        var seq = ColorScale.Sequential([2f, 4f, float.PositiveInfinity]);
        Assert.Equal((2f, 4f), (seq.Low, seq.High));
        var zeros = ColorScale.Diverging(new float[10]);
        Assert.Equal(0f, zeros.Limit);
        Assert.Equal(Colormap.RdBu.Map(0.5f), Colormap.RdBu.Map(0f, zeros.Low, zeros.High));
    }
}
