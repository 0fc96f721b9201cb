using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Autodiff.Optim;
using ModelVis.Vision.Graph;

namespace ModelVis.Vision;

/// <summary>What the optimised input should do: excite a channel of a layer, raise a class score, or reproduce an image's features.</summary>
public enum VisualizationGoal { Channel, Class, Inversion }

/// <param name="Layer">The layer whose channel is excited or whose features are reproduced (ignored for a class).</param>
/// <param name="Index">The channel, or the class.</param>
/// <param name="Start">The preprocessed image [1, C, H, W] to invert (its features are the target), or to start from; null: noise.</param>
/// <param name="TvWeight">λ of the total-variation penalty Σ (x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])², per pixel.</param>
/// <param name="L2Weight">λ of the L2 penalty ‖x‖², per pixel.</param>
/// <param name="Jitter">Each step shifts the image by up to this many pixels (a random roll) before the pass.</param>
public sealed record VisualizationRequest(VisualizationGoal Goal, string? Layer, int Index, NdArray? Start = null, int Steps = 128, double LearningRate = 0.05,
    double TvWeight = 0.002, double L2Weight = 0.0005, int Jitter = 1, int Seed = 0);

/// <summary>One step's image [1, C, H, W] (preprocessed space) and the objective before the penalties (what is maximised, or the inversion error).</summary>
public sealed record VisualizationStep(int Step, double Objective, NdArray Image);

/// <summary>
/// Activation maximisation and feature inversion (Olah et al. 2017, "Feature Visualization"; Mahendran &amp; Vedaldi
/// 2015): the input x is optimised by Adam on the autodiff tape,
/// <code>
///   channel:   max  mean_ij A_k(x)  − λ_tv·TV(x) − λ₂·‖x‖²          A: the layer's maps
///   class:     max  y_c(x)          − λ_tv·TV(x) − λ₂·‖x‖²          y: the scores before any final softmax
///   inversion: min  ‖f(x) − h‖² / ‖h‖² + λ_tv·TV(x) + λ₂·‖x‖²       h = f(image) at the layer; x starts from noise
/// </code>
/// with the image jittered by a random roll each step (the transformation robustness the literature uses).
/// </summary>
public static class FeatureVisualization
{
    public static IEnumerable<VisualizationStep> Run(VisionGraph graph, int[] inputShape, VisualizationRequest r, CancellationToken cancel = default)
    {
        if (inputShape.Length != 4 || inputShape[0] != 1 || inputShape.Skip(1).Any(d => d <= 0))
            throw new VisionException($"feature visualisation needs a fixed input [1, C, H, W], got {NdArray.ShapeText(inputShape)}");
        if (r.Steps < 1) throw new VisionException("feature visualisation needs at least one step");
        int C = inputShape[1], H = inputShape[2], W = inputShape[3], n = C * H * W;
        var runner = new GraphRunner(graph);
        var rng = new Random(r.Seed);
        string target = r.Goal == VisualizationGoal.Class ? TapeGraph.ClassScores(graph, runner.Order)
            : r.Layer ?? throw new VisionException("choose the layer whose channel to excite or whose features to reproduce");

        float[]? features = null;
        if (r.Goal == VisualizationGoal.Inversion)
        {
            var image = r.Start ?? throw new VisionException("feature inversion needs the image whose features to reproduce");
            features = TapeGraph.Values(runner, image, cancel).GetValueOrDefault(target)?.Floats
                ?? throw new VisionException($"the graph has no value \"{target}\"");
        }
        var x = new Var<float>(r.Start is { } s && r.Goal != VisualizationGoal.Inversion ? (float[])s.Floats.Clone()
            : Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), [1, C, H, W], requiresGrad: true, name: "input");
        var adam = new AdamW<float>([x], _ => false) { Beta2 = 0.999 };

        for (int step = 1; step <= r.Steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            int dy = rng.Next(-r.Jitter, r.Jitter + 1), dx = rng.Next(-r.Jitter, r.Jitter + 1);
            var shifted = new Var<float>(Roll(x.Data, C, H, W, dy, dx), x.Shape, requiresGrad: true, name: "jittered");
            var values = TapeGraph.Values(runner, NdArray.Of(shifted.Data, 1, C, H, W), cancel);
            var tape = new Tape<float>();
            var vars = TapeGraph.Run(tape, graph, runner.Order, values, graph.InputName, shifted, target, cancel);
            var output = vars.GetValueOrDefault(target) ?? throw new VisionException($"the graph has no value \"{target}\" that depends on the input");
            var (objective, weights) = Objective(r, output, features);
            tape.Backward(tape.WeightedSum(output, weights));                       // ∂(objective)/∂x, to be ascended (descended for inversion)
            // The gradient back through the roll, sign so that Adam descends the loss, then the penalties' gradients.
            var g = Roll(shifted.Grad, C, H, W, -dy, -dx);
            float sign = r.Goal == VisualizationGoal.Inversion ? 1 : -1;
            x.ZeroGrad();
            var grad = x.Grad;
            for (int i = 0; i < n; i++) grad[i] = sign * g[i] + (float)(2 * r.L2Weight * x.Data[i]);
            AddTotalVariationGradient(x.Data, grad, C, H, W, r.TvWeight);
            adam.Step(r.LearningRate);
            yield return new VisualizationStep(step, objective, NdArray.Of((float[])x.Data.Clone(), 1, C, H, W));
        }
    }

    /// <summary>The objective's value and the weights whose weighted sum over the output has its gradient.</summary>
    static (double Value, float[] Weights) Objective(VisualizationRequest r, Var<float> output, float[]? features)
    {
        var w = new float[output.Length];
        switch (r.Goal)
        {
            case VisualizationGoal.Channel:
            {
                if (output.Shape.Length != 4) throw new VisionException($"\"{r.Layer}\" has no channels of maps: [{string.Join(", ", output.Shape)}]");
                int K = output.Shape[1], S = output.Length / K;
                if ((uint)r.Index >= (uint)K) throw new VisionException($"channel {r.Index} is outside the layer's {K} channels (0..{K - 1})");
                double mean = 0;
                for (int p = 0; p < S; p++) { w[r.Index * S + p] = 1f / S; mean += output.Data[r.Index * S + p]; }
                return (mean / S, w);
            }
            case VisualizationGoal.Class:
                if ((uint)r.Index >= (uint)output.Length) throw new VisionException($"class {r.Index} is outside the model's {output.Length} classes (0..{output.Length - 1})");
                w[r.Index] = 1;
                return (output.Data[r.Index], w);
            default:
            {
                // ‖f − h‖² / ‖h‖²: its gradient is 2(f − h)/‖h‖², the weights of a weighted sum with the same gradient.
                double norm = Math.Max(1e-12, features!.Sum(v => (double)v * v)), err = 0;
                for (int i = 0; i < w.Length; i++)
                {
                    double d = output.Data[i] - features[i];
                    err += d * d;
                    w[i] = (float)(2 * d / norm);
                }
                return (err / norm, w);
            }
        }
    }

    /// <summary>x rolled by (dy, dx) within each channel (what falls off one edge comes back on the other).</summary>
    static float[] Roll(float[] x, int C, int H, int W, int dy, int dx)
    {
        var y = new float[x.Length];
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                    y[(c * H + (i + dy + H) % H) * W + (j + dx + W) % W] = x[(c * H + i) * W + j];
        return y;
    }

    /// <summary>Adds λ·∂TV/∂x, TV(x) = Σ (x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])².</summary>
    static void AddTotalVariationGradient(float[] x, float[] grad, int C, int H, int W, double lambda)
    {
        if (lambda == 0) return;
        float l2 = (float)(2 * lambda);
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                {
                    int p = (c * H + i) * W + j;
                    if (i + 1 < H) { float d = x[p + W] - x[p]; grad[p + W] += l2 * d; grad[p] -= l2 * d; }
                    if (j + 1 < W) { float d = x[p + 1] - x[p]; grad[p + 1] += l2 * d; grad[p] -= l2 * d; }
                }
    }
}
