using ModelVis.Checkpoints;
using ModelVis.Tests;
using ModelVis.Vision.Graph;

namespace ModelVis.Vision.Tests;

/// <summary>
/// Grad-CAM on the real LeNet-5 (ONNX) against a reference computed here without the tape: ∂y_c/∂A by central
/// differences (h = 1e-6, in double) through LeNet's layers after A written out as loops. Everything after a LeNet conv
/// is piecewise linear (pooling, ReLU, linear layers), so the differences are exact unless a step crosses a kink.
/// </summary>
public class GradCamTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static readonly Lazy<VisionModel> LeNet = new(() => VisionModel.Open(Path.Combine(LeNetConformanceTests.LeNetDir, "lenet.onnx")));

    [Theory]
    [InlineData("mnist_test_00_label7", 0, null)]   // conv1's maps, the predicted digit
    [InlineData("mnist_test_00_label7", 1, 3)]      // conv2's maps, another class
    [InlineData("mnist_test_01_label2", 1, null)]
    public void Grad_cam_matches_finite_differences_through_the_interpreter(string digit, int conv, int? cls)
    {
        var graph = LeNet.Value.Graph;
        using var expected = CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", digit + ".safetensors"));
        var input = NdArray.Of(expected.ReadFloats("input"), 1, 1, 28, 28);
        var layer = graph.Nodes.Where(n => n.OpType == "Conv").ElementAt(conv).Outputs[0];
        var cam = GradCam.Compute(graph, input, layer, cls);

        // The class scores: the input of the final softmax.
        var softmax = graph.Nodes.Single(n => n.Outputs.Contains(graph.OutputNames[0]));
        Assert.Equal("Softmax", softmax.OpType);
        string logits = softmax.Inputs[0];
        var full = new GraphRunner(graph).Run(input, captureAll: true);
        var a = full.Captured.Single(c => c.Name == layer).Value;
        var scores = full.Captured.Single(c => c.Name == logits).Value.Floats;
        int c = cls ?? Array.IndexOf(scores, scores.Max());
        Assert.Equal(c, cam.Class);
        Assert.Equal(scores[c], cam.Score, 4);
        if (cls is null) Assert.Equal(int.Parse(digit[^1..]), c);

        // The nodes after the layer, run in double by the loops below from A (perturbed), for central differences.
        var downstream = new HashSet<string> { layer };
        var tail = new List<VisionNode>();
        foreach (var n in new GraphRunner(graph).Order)
            if (n.Inputs.Any(downstream.Contains) && !downstream.Contains(logits))
            {
                tail.Add(n);
                foreach (var o in n.Outputs) downstream.Add(o);
            }
        double Score(double[] values) => LeNetTail(tail, graph, layer, values, a.Shape, logits)[c];

        int K = a.Shape[1], H = a.Shape[2], W = a.Shape[3];
        const double h = 1e-6;
        var values = a.Floats.Select(v => (double)v).ToArray();
        var alpha = new double[K];
        for (int i = 0; i < values.Length; i++)
        {
            double saved = values[i];
            values[i] = saved + h; double up = Score(values);
            values[i] = saved - h; double down = Score(values);
            values[i] = saved;
            alpha[i / (H * W)] += (up - down) / (2 * h) / (H * W);
        }
        var map = new double[H * W];
        for (int p = 0; p < H * W; p++)
        {
            double s = 0;
            for (int k = 0; k < K; k++) s += alpha[k] * a.Floats[k * H * W + p];
            map[p] = Math.Max(0, s);
        }
        double alphaScale = alpha.Max(Math.Abs), mapScale = Math.Max(1e-12, map.Max());
        double alphaErr = alpha.Select((v, k) => Math.Abs(v - cam.ChannelWeights[k])).Max();
        double mapErr = map.Select((v, p) => Math.Abs(v - cam.Map[p])).Max();
        output.WriteLine($"{digit} conv{conv + 1} class {c}: α max error {alphaErr:E2} of {alphaScale:E2}, map max error {mapErr:E2} of {mapScale:E2}");
        Assert.True(alphaErr <= 1e-5 * alphaScale, $"α: {alphaErr} vs scale {alphaScale}");
        Assert.True(mapErr <= 1e-5 * mapScale, $"map: {mapErr} vs scale {mapScale}");
        Assert.Equal(H, cam.Height);
        Assert.Equal(W, cam.Width);
        Assert.True(map.Max() > 0, "the class has some positive evidence");
    }

    /// <summary>The ops after a LeNet conv (max pool, ReLU, conv, flatten, Gemm), in double, straight from their definitions.</summary>
    static double[] LeNetTail(List<VisionNode> nodes, VisionGraph graph, string start, double[] a, int[] shape, string logits)
    {
        var values = new Dictionary<string, (double[] V, int[] S)> { [start] = (a, shape) };
        double[] Const(string name) => graph.Constants[name].Floats.Select(v => (double)v).ToArray();
        foreach (var n in nodes)
        {
            var (x, s) = values[n.Inputs[0]];
            (double[], int[]) y;
            switch (n.OpType)
            {
                case "MaxPool":
                {
                    int k = (int)n.Ints("kernel_shape")![0], st = (int)(n.Ints("strides")?[0] ?? k), C = s[1], H = s[2], W = s[3], OH = (H - k) / st + 1, OW = (W - k) / st + 1;
                    var o = new double[C * OH * OW];
                    for (int c = 0; c < C; c++) for (int i = 0; i < OH; i++) for (int j = 0; j < OW; j++)
                    {
                        double m = double.NegativeInfinity;
                        for (int di = 0; di < k; di++) for (int dj = 0; dj < k; dj++) m = Math.Max(m, x[(c * H + i * st + di) * W + j * st + dj]);
                        o[(c * OH + i) * OW + j] = m;
                    }
                    y = (o, [1, C, OH, OW]);
                    break;
                }
                case "Relu": y = (x.Select(v => Math.Max(0, v)).ToArray(), s); break;
                case "Conv":
                {
                    var w = Const(n.Inputs[1]); var b = Const(n.Inputs[2]);
                    var ws = graph.Constants[n.Inputs[1]].Shape;
                    int O = ws[0], C = ws[1], k = ws[2], H = s[2], W = s[3], OH = H - k + 1, OW = W - k + 1;
                    Assert.Null(n.Ints("pads")?.FirstOrDefault(p => p != 0) is > 0 ? "padded" : null);
                    var o = new double[O * OH * OW];
                    for (int m = 0; m < O; m++) for (int i = 0; i < OH; i++) for (int j = 0; j < OW; j++)
                    {
                        double acc = b[m];
                        for (int cc = 0; cc < C; cc++) for (int di = 0; di < k; di++) for (int dj = 0; dj < k; dj++)
                            acc += w[((m * C + cc) * k + di) * k + dj] * x[(cc * H + i + di) * W + j + dj];
                        o[(m * OH + i) * OW + j] = acc;
                    }
                    y = (o, [1, O, OH, OW]);
                    break;
                }
                case "Reshape" or "Flatten": y = (x, [1, x.Length]); break;
                case "Gemm":
                {
                    var w = Const(n.Inputs[1]); var b = Const(n.Inputs[2]);
                    var ws = graph.Constants[n.Inputs[1]].Shape;
                    bool transB = n.Int("transB", 0) != 0;
                    int outF = transB ? ws[0] : ws[1], inF = x.Length;
                    var o = new double[outF];
                    for (int m = 0; m < outF; m++)
                    {
                        double acc = b[m];
                        for (int i = 0; i < inF; i++) acc += (transB ? w[m * inF + i] : w[i * outF + m]) * x[i];
                        o[m] = acc;
                    }
                    y = (o, [1, outF]);
                    break;
                }
                default: throw new InvalidOperationException($"the LeNet tail has no {n.OpType}");
            }
            values[n.Outputs[0]] = y;
        }
        return values[logits].V;
    }

    [Fact]
    public void Bad_layer_and_class_are_clear_errors()
    {
        var graph = LeNet.Value.Graph;
        var input = NdArray.Zeros(1, 1, 28, 28);
        Assert.Contains("no value", Assert.Throws<VisionException>(() => GradCam.Compute(graph, input, "nope", null)).Message);
        var conv = graph.Nodes.First(n => n.OpType == "Conv").Outputs[0];
        Assert.Contains("outside", Assert.Throws<VisionException>(() => GradCam.Compute(graph, input, conv, 10)).Message);
    }
}

