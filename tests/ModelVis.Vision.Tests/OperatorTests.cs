using ModelVis.Vision.Graph;
using ModelVis.Vision.Ops;
using Window2D = ModelVis.Tensors.Window2D;

namespace ModelVis.Vision.Tests;

/// <summary>The interpreter's kernels against direct definitions (loops over the formula) and hand-worked values.</summary>
public class OperatorTests
{
    static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Convolution straight from its definition, in double.</summary>
    static float[] NaiveConv(float[] x, int c, int h, int w, float[] wt, int m, int kh, int kw, float[]? bias,
                             int groups, int sh, int sw, int dh, int dw, int pt, int pl, int oh, int ow)
    {
        int cg = c / groups, mg = m / groups;
        var y = new float[m * oh * ow];
        for (int o = 0; o < m; o++)
        {
            int g = o / mg;
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                double s = bias?[o] ?? 0;
                for (int ci = 0; ci < cg; ci++)
                for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                {
                    int iy = oy * sh + ky * dh - pt, ix = ox * sw + kx * dw - pl;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    s += (double)x[((g * cg + ci) * h + iy) * w + ix] * wt[((o * cg + ci) * kh + ky) * kw + kx];
                }
                y[(o * oh + oy) * ow + ox] = (float)s;
            }
        }
        return y;
    }

    [Theory]
    [InlineData(3, 20, 37, 8, 3, 3, 1, 1, 1, 1, 1, 1)]     // padded 3×3, odd width (tails of the 32-wide tiles)
    [InlineData(16, 30, 40, 16, 3, 3, 16, 2, 1, 1, 1, 1)]  // depthwise, stride 2
    [InlineData(8, 25, 33, 12, 3, 3, 2, 1, 2, 2, 2, 2)]    // grouped, dilation 2
    [InlineData(6, 12, 12, 16, 5, 5, 1, 1, 1, 0, 0, 1)]    // LeNet conv2 shape
    [InlineData(32, 15, 20, 64, 1, 1, 1, 1, 1, 0, 0, 1)]   // pointwise (no im2col)
    [InlineData(4, 9, 11, 5, 3, 2, 1, 3, 1, 2, 1, 1)]      // rectangular kernel, stride 3, asymmetric padding
    public void Conv_MatchesTheDefinition(int c, int h, int w, int m, int kh, int kw, int groups, int stride, int dilation, int padTop, int padLeft, int bias)
    {
        var x = Random(c * h * w, 1);
        var wt = Random(m * (c / groups) * kh * kw, 2);
        var b = bias != 0 ? Random(m, 3) : null;
        var win = new Window2D(kh, kw, stride, stride, dilation, dilation, padTop, padLeft, padTop + 1, padLeft, false);
        var y = Conv.Forward(NdArray.Of(x, 1, c, h, w), NdArray.Of(wt, m, c / groups, kh, kw), b == null ? null : NdArray.Of(b, m), win, groups);
        int oh = win.OutH(h), ow = win.OutW(w);
        Assert.Equal(new[] { 1, m, oh, ow }, y.Shape);
        var want = NaiveConv(x, c, h, w, wt, m, kh, kw, b, groups, stride, stride, dilation, dilation, padTop, padLeft, oh, ow);
        Assert.True(LeNetConformanceTests.MaxAbsDiff(want, y.Floats) < 1e-4f);
    }

    static VisionNode Node(string op, params (string, object)[] attrs) => new()
    {
        Name = "n", OpType = op, Inputs = ["x"], Outputs = ["y"], Attributes = attrs.ToDictionary(a => a.Item1, a => a.Item2),
    };

    [Theory]
    [InlineData("SAME_UPPER", 8, 2, 4, 0, 1)]  // total padding 1 → the extra pixel at the end
    [InlineData("SAME_LOWER", 8, 2, 4, 1, 0)]  // … at the start
    [InlineData("VALID", 8, 2, 3, 0, 0)]
    public void AutoPad_FollowsTheSpec(string autoPad, int size, int stride, int outSize, int padBegin, int padEnd)
    {
        var node = Node("Conv", ("auto_pad", autoPad), ("strides", new long[] { stride, stride }));
        var win = WindowAttributes.From(node, size, size, 3, 3);
        Assert.Equal(outSize, win.OutH(size));
        Assert.Equal((padBegin, padEnd), (win.PadTop, win.PadBottom));
    }

    [Fact]
    public void MaxPool_CeilMode_AndAveragePool_CountIncludePad()
    {
        var x = NdArray.Of(Enumerable.Range(1, 25).Select(v => (float)v).ToArray(), 1, 1, 5, 5);
        var ceil = Pooling.Max(x, new Window2D(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, CeilMode: true));
        Assert.Equal(new[] { 1, 1, 3, 3 }, ceil.Shape);
        Assert.Equal(new[] { 7f, 9, 10, 17, 19, 20, 22, 24, 25 }, ceil.Floats);
        var floor = Pooling.Max(x, new Window2D(2, 2, 2, 2, 1, 1, 0, 0, 0, 0));
        Assert.Equal(new[] { 7f, 9, 17, 19 }, floor.Floats);
        // 3×3 average with padding 1 at the corner: (1+2+6+7)/4 excluding pads, /9 including them.
        var exclude = Pooling.Average(x, new Window2D(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), countIncludePad: false);
        var include = Pooling.Average(x, new Window2D(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), countIncludePad: true);
        Assert.Equal(16f / 4, exclude.Floats[0], 5);
        Assert.Equal(16f / 9, include.Floats[0], 5);
        Assert.Equal(13f, Pooling.GlobalAverage(x).Floats[0], 5);
    }

    [Fact]
    public void Softmax_Opset13_IsPerAxis_Opset11_FlattensFromTheAxis()
    {
        var x = NdArray.Of([1f, 2f, 3f, 4f], 1, 2, 2);
        var per = Normalization.Softmax(x, 1, coerceTo2D: false).Floats;   // over the middle axis only
        Assert.Equal(1f, per[0] + per[2], 5);
        Assert.Equal(1f, per[1] + per[3], 5);
        var flat = Normalization.Softmax(x, 1, coerceTo2D: true).Floats;   // over all four
        Assert.Equal(1f, flat.Sum(), 5);
        Assert.Equal(MathF.Exp(4) / (MathF.Exp(1) + MathF.Exp(2) + MathF.Exp(3) + MathF.Exp(4)), flat[3], 5);
    }

    [Fact]
    public void Gemm_Transposes_AlphaBeta_AndBroadcastsC()
    {
        var a = NdArray.Of([1f, 2, 3, 4, 5, 6], 3, 2);     // Aᵀ is [2, 3]
        var b = NdArray.Of([1f, 0, 0, 1, 1, 1], 2, 3);     // Bᵀ is [3, 2]
        var c = NdArray.Of([10f, 20], 2);
        var y = Linear.Gemm(a, b, c, alpha: 2, beta: 0.5f, transA: true, transB: true);
        // Aᵀ·Bᵀ = [[1,3,5],[2,4,6]]·[[1,1],[0,1],[0,1]] = [[1,9],[2,12]]
        Assert.Equal(new[] { 2 * 1 + 5f, 2 * 9 + 10f, 2 * 2 + 5f, 2 * 12 + 10f }, y.Floats);
    }

    [Fact]
    public void Broadcasting_Transpose_Concat_Slice_Reshape()
    {
        var x = NdArray.Of(Enumerable.Range(0, 6).Select(v => (float)v).ToArray(), 1, 2, 3);
        var bias = NdArray.Of([100f, 200f], 2, 1);
        Assert.Equal(new[] { 100f, 101, 102, 203, 204, 205 }, Elementwise.Binary(BinaryOp.Add, x, bias).Floats);
        Assert.Equal(new[] { 0f, 3, 1, 4, 2, 5 }, Shapes.Transpose(x, [0, 2, 1]).Floats);
        var cat = Shapes.Concat([x, x], 2);
        Assert.Equal(new[] { 1, 2, 6 }, cat.Shape);
        Assert.Equal(new[] { 0f, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, cat.Floats);
        var sl = Shapes.Slice(x, [1], [long.MaxValue], [2], null);
        Assert.Equal(new[] { 1f, 2, 4, 5 }, sl.Floats);
        var rev = Shapes.Slice(x, [-1], [long.MinValue], [2], [-1]);
        Assert.Equal(new[] { 2f, 1, 0, 5, 4, 3 }, rev.Floats);
        var folded = Shapes.Reshape(x, [2, -1], false);
        Assert.Equal(new[] { 2, 3 }, folded.Shape);
        Assert.Equal(x.Floats, folded.Floats);
        Assert.Equal(new[] { 1, 6 }, Shapes.Reshape(x, [0, -1], false).Shape);
        Assert.Equal(new[] { 1, 6 }, Shapes.Flatten(x, 1).Shape);
        Assert.Equal(new[] { 2f, 5 }, Shapes.Gather(x, NdArray.OfLongs([2], 1), 2).Floats);
    }

    [Fact]
    public void Resize_NearestAndLinear()
    {
        var x = NdArray.Of([0f, 10, 20, 30], 1, 1, 2, 2);
        var nearest = Resize.Forward(x, 4, 4, 2, 2, "nearest", "asymmetric", "floor");
        Assert.Equal(new[] { 0f, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 30 }, nearest.Floats);
        var linear = Resize.Forward(x, 4, 4, 2, 2, "linear", "half_pixel", "round_prefer_floor");
        // half_pixel: output 1 maps to input 0.25 → 0.75·0 + 0.25·10 = 2.5 along a row.
        Assert.Equal(new[] { 0f, 2.5f, 7.5f, 10 }, linear.Floats[..4]);
        Assert.Equal(new[] { 20f, 22.5f, 27.5f, 30 }, linear.Floats[12..]);
    }

    [Fact]
    public void Pad_Constant_Reflect_Edge()
    {
        var x = NdArray.Of([1f, 2, 3], 1, 3);
        Assert.Equal(new[] { 9f, 9, 1, 2, 3, 9 }, Shapes.Pad(x, [0, 2, 0, 1], "constant", 9).Floats);
        Assert.Equal(new[] { 3f, 2, 1, 2, 3, 2 }, Shapes.Pad(x, [0, 2, 0, 1], "reflect", 0).Floats);
        Assert.Equal(new[] { 1f, 1, 1, 2, 3, 3 }, Shapes.Pad(x, [0, 2, 0, 1], "edge", 0).Floats);
    }

    [Fact]
    public void Clip_ReadsAttributesBeforeOpset11_AndInputsFrom11()
    {
        var x = NdArray.Of([-5f, 0.5f, 9f], 3);
        var old = OperatorSet.Run(new VisionNode { Name = "c", OpType = "Clip", Inputs = ["x"], Outputs = ["y"], Attributes = new() { ["min"] = 0f, ["max"] = 6f } }, [x], new OpContext(9));
        Assert.Equal(new[] { 0f, 0.5f, 6f }, old[0].Floats);
        var @new = OperatorSet.Run(new VisionNode { Name = "c", OpType = "Clip", Inputs = ["x", "lo", ""], Outputs = ["y"] }, [x, NdArray.Scalar(-1f), null], new OpContext(13));
        Assert.Equal(new[] { -1f, 0.5f, 9f }, @new[0].Floats);
    }
}
