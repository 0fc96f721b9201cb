using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;

namespace ModelVis.Vision.Graph;

/// <summary>A Grad-CAM map [Height, Width] over one layer's grid, with the class score it explains and each channel's weight α_k.</summary>
public sealed record GradCamMap(string Layer, int Class, double Score, float[] Map, int Height, int Width, float[] ChannelWeights);

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017) on any layer of a CNN graph:
/// <code>
///   α_k = mean over (i, j) of ∂y_c / ∂A_k(i, j)        y_c: the class's score before any final softmax; A: the layer's output [K, H, W]
///   L   = ReLU(Σ_k α_k · A_k)                          [H, W], over the layer's grid (the panel stretches it over the input)
/// </code>
/// The forward pass is the interpreter's (<see cref="GraphRunner"/>, every value kept); only the nodes downstream of the
/// layer run again on the autodiff tape, from A as the variable, with everything else constant.
/// </summary>
public static class GradCam
{
    public static GradCamMap Compute(VisionGraph graph, NdArray input, string layer, int? classIndex, CancellationToken cancel = default)
    {
        var runner = new GraphRunner(graph);
        var values = TapeGraph.Values(runner, input, cancel);
        if (!values.TryGetValue(layer, out var a))
            throw new VisionException($"Grad-CAM: the graph has no value \"{layer}\" (choose a layer's output)");
        if (a.Rank != 4 || a.Shape[0] != 1) throw new VisionException($"Grad-CAM needs a layer with maps [1, K, H, W]; \"{layer}\" is {a.ShapeString}");

        string scoreName = TapeGraph.ClassScores(graph, runner.Order);

        var tape = new Tape<float>();
        var leaf = new Var<float>((float[])a.Floats.Clone(), a.Shape, requiresGrad: true, name: layer);
        var vars = TapeGraph.Run(tape, graph, runner.Order, values, layer, leaf, scoreName, cancel);
        if (!vars.TryGetValue(scoreName, out var scores))
            throw new VisionException($"Grad-CAM: the class scores do not depend on \"{layer}\" (choose a layer before the classifier)");
        if (scores.Length != scores.Shape[^1] || scores.Length < 1) throw new VisionException($"Grad-CAM needs one row of class scores, got [{string.Join(", ", scores.Shape)}]");
        int cls = classIndex ?? System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(scores.Data);
        if ((uint)cls >= (uint)scores.Length) throw new VisionException($"class {cls} is outside the model's {scores.Length} classes (0..{scores.Length - 1})");
        var pick = new float[scores.Length];
        pick[cls] = 1;
        tape.Backward(tape.WeightedSum(scores, pick));

        int K = a.Shape[1], H = a.Shape[2], W = a.Shape[3];
        var alpha = new float[K];
        var map = new float[H * W];
        for (int k = 0; k < K; k++)
        {
            double s = 0;
            for (int p = 0; p < H * W; p++) s += leaf.Grad[k * H * W + p];
            alpha[k] = (float)(s / (H * W));
        }
        for (int p = 0; p < H * W; p++)
        {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)alpha[k] * a.Floats[k * H * W + p];
            map[p] = (float)Math.Max(0, s);
        }
        return new GradCamMap(layer, cls, scores.Data[cls], map, H, W, alpha);
    }
}
