using ModelVis.Autodiff.Ops;
using ModelVis.Tensors;
using Xunit;
using static ModelVis.Autodiff.Tests.GradientCheck;

namespace ModelVis.Autodiff.Tests;

/// <summary>The CNN ops' backward against central finite differences in float64, and their forward against direct loops.</summary>
public class ConvBackwardTests
{
    static Var<double> Probe(Tape<double> t, Var<double> y, int seed) => t.WeightedSum(y, Weights(new Random(seed), y.Length));

    public static TheoryData<int, int, int, int, int> Convs => new()
    {
        // stride, pad, dilation, groups, channels in
        { 1, 0, 1, 1, 3 },
        { 2, 1, 1, 1, 2 },
        { 1, 2, 2, 1, 2 },
        { 1, 1, 1, 2, 4 },   // grouped
    };

    [Theory, MemberData(nameof(Convs))]
    public void Conv2d(int stride, int pad, int dilation, int groups, int cin)
    {
        var rng = new Random(31 + stride + pad + dilation + groups);
        var win = new Window2D(3, 2, stride, stride, dilation, dilation, pad, pad, pad, pad);
        var x = Random(rng, "x", 1, 2, cin, 7, 6);
        var w = Random(rng, "w", 1, 4, cin / groups, 3, 2);
        var b = Random(rng, "b", 1, 4);
        Check(t => Probe(t, t.Conv2D(x, w, b, win, groups), 32), [x, w, b]);

        // Forward against the definition, one output element at a time.
        var y = new Tape<double> { Recording = false }.Conv2D(x, w, b, win, groups);
        int OH = win.OutH(7), OW = win.OutW(6), cg = cin / groups;
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 4; o++)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow++)
                    {
                        double s = b.Data[o];
                        int g = o / (4 / groups);
                        for (int c = 0; c < cg; c++)
                            for (int kh = 0; kh < 3; kh++)
                                for (int kw = 0; kw < 2; kw++)
                                {
                                    int ih = oh * stride - pad + kh * dilation, iw = ow * stride - pad + kw * dilation;
                                    if (ih < 0 || ih >= 7 || iw < 0 || iw >= 6) continue;
                                    s += w.Data[((o * cg + c) * 3 + kh) * 2 + kw] * x.Data[((n * cin + g * cg + c) * 7 + ih) * 6 + iw];
                                }
                        Assert.Equal(s, y.Data[((n * 4 + o) * OH + oh) * OW + ow], 12);
                    }
    }

    [Fact]
    public void Pooling_batch_norm_relu_reshape()
    {
        var rng = new Random(41);
        var x = Random(rng, "x", 2, 2, 3, 6, 5);
        Check(t => Probe(t, t.MaxPool2D(x, new Window2D(2, 2, 2, 2)), 42), [x]);
        Check(t => Probe(t, t.MaxPool2D(x, new Window2D(3, 3, 2, 2, 1, 1, 1, 1, 1, 1)), 43), [x]);
        Check(t => Probe(t, t.AveragePool2D(x, new Window2D(3, 2, 1, 2, 1, 1, 1, 0, 1, 1)), 44), [x]);
        Check(t => Probe(t, t.AveragePool2D(x, new Window2D(3, 2, 1, 2, 1, 1, 1, 0, 1, 1), countIncludePad: true), 45), [x]);
        Check(t => Probe(t, t.GlobalAveragePool(x), 46), [x]);
        double[] gamma = [1.5, -0.5, 2], beta = [0.1, 0.2, -0.3], mean = [0.3, -0.1, 0], variance = [0.5, 2, 1];
        Check(t => Probe(t, t.BatchNorm(x, gamma, beta, mean, variance, 1e-5), 47), [x]);
        Check(t => Probe(t, t.Relu(x), 48), [x]);
        Check(t => Probe(t, t.Reshape(x, 2, 90), 49), [x]);

        var pooled = new Tape<double> { Recording = false }.MaxPool2D(x, new Window2D(2, 2, 2, 2));
        Assert.Equal(new[] { 2, 3, 3, 2 }, pooled.Shape);
        Assert.Equal(new[] { x.Data[0], x.Data[1], x.Data[5], x.Data[6] }.Max(), pooled.Data[0]);
        var mean0 = new Tape<double> { Recording = false }.GlobalAveragePool(x);
        Assert.Equal(x.Data.Take(30).Average(), mean0.Data[0], 12);
    }
}
