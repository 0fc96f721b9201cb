using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Analysis;

/// <summary>
/// One MLP's activation function f on a selection: the histogram of its inputs x (every token × unit), the curve
/// f over the same range, and how many inputs sit where f is near zero (|f(x)| &lt; 0.01) or flat
/// (|f′(x)| &lt; 0.01: no gradient passes, a dead ReLU, a saturated gate).
/// </summary>
/// <param name="Counts">Inputs per bin, bins of equal width over [Min, Max].</param>
/// <param name="CurveX">Where the curve is sampled (evenly over [Min, Max]); <paramref name="CurveY"/> = f(CurveX) by the engine's own kernel.</param>
public sealed record ActivationLayer(int Layer, float Min, float Max, long[] Counts, long Total, double Mean, double NearZero, double Flat,
    float[] CurveX, float[] CurveY);

/// <summary>Every layer's <see cref="ActivationLayer"/>, with the function's name and whether it gates an up projection (GeGLU, SwiGLU).</summary>
public sealed record ActivationProfile(string Function, bool Gated, int Units, ActivationLayer[] Layers);

public static class ActivationInputs
{
    public const float NearZeroBelow = 0.01f, FlatSlopeBelow = 0.01f;
    const int CurvePoints = 256;

    /// <summary>Runs the model on <paramref name="input"/>, reading each MLP's activation input through a forward hook.</summary>
    public static ActivationProfile Capture(LanguageModel model, ForwardInput input, int bins = 80, CancellationToken ct = default)
    {
        var c = model.Config;
        if (c.IsEncoderDecoder) throw new ModelException($"{c.ModelType} is an encoder-decoder: the activation view reads decoder-only and encoder-only models");
        var hook = new PreActivations(c.Layers);
        model.Forward(input, new CaptureRequest(HiddenStates: false, Logits: false), ct, hooks: hook);
        return Profile(c.Activation, c.GatedMlp || c.Family is not (ModelFamily.Gpt2 or ModelFamily.Bert or ModelFamily.GptNeoX), c.Intermediate,
            hook.Values.Select((v, l) => v ?? throw new ModelException($"layer {l}'s MLP did not report its activation input")).ToArray(), bins);
    }

    /// <summary>The profile of given activation inputs (one array per layer, every value an input of <paramref name="function"/>).</summary>
    public static ActivationProfile Profile(string function, bool gated, int units, float[][] inputs, int bins)
    {
        bins = Math.Clamp(bins, 4, 1000);
        var layers = new ActivationLayer[inputs.Length];
        for (int l = 0; l < inputs.Length; l++)
        {
            var x = inputs[l];
            float lo = System.Numerics.Tensors.TensorPrimitives.Min(x), hi = System.Numerics.Tensors.TensorPrimitives.Max(x);
            if (hi <= lo) hi = lo + 1;
            var counts = new long[bins];
            double width = (hi - lo) / (double)bins;
            foreach (var v in x) counts[Math.Min(bins - 1, (int)((v - lo) / width))]++;
            var f = (float[])x.Clone();
            Activations.Apply(function, f);
            var slope = Slope(function, x);
            long nearZero = 0, flat = 0;
            for (int i = 0; i < x.Length; i++)
            {
                if (Math.Abs(f[i]) < NearZeroBelow) nearZero++;
                if (Math.Abs(slope[i]) < FlatSlopeBelow) flat++;
            }
            var curveX = new float[CurvePoints];
            for (int i = 0; i < CurvePoints; i++) curveX[i] = lo + (hi - lo) * i / (CurvePoints - 1);
            var curveY = (float[])curveX.Clone();
            Activations.Apply(function, curveY);
            layers[l] = new ActivationLayer(l, lo, hi, counts, x.Length, x.Average(v => (double)v),
                nearZero / (double)x.Length, flat / (double)x.Length, curveX, curveY);
        }
        return new ActivationProfile(function, gated, units, layers);
    }

    /// <summary>f′(x) by central differences of the engine's own f (h = 1e-3, a relative error of about 1e-6 on these smooth functions; ReLU's kink is a point).</summary>
    static float[] Slope(string function, float[] x)
    {
        const float h = 1e-3f;
        var plus = new float[x.Length];
        var minus = new float[x.Length];
        for (int i = 0; i < x.Length; i++) { plus[i] = x[i] + h; minus[i] = x[i] - h; }
        Activations.Apply(function, plus);
        Activations.Apply(function, minus);
        for (int i = 0; i < x.Length; i++) plus[i] = (plus[i] - minus[i]) / (2 * h);
        return plus;
    }

    /// <summary>Copies each layer's activation input [n, width] out of the pass.</summary>
    sealed class PreActivations(int layers) : ForwardHooks
    {
        public readonly float[]?[] Values = new float[layers][];

        public override void MlpPreActivation(int layer, float[] buffer, int n, int width, int rowStride)
        {
            var copy = new float[n * width];
            for (int i = 0; i < n; i++) buffer.AsSpan(i * rowStride, width).CopyTo(copy.AsSpan(i * width, width));
            Values[layer] = copy;
        }
    }
}
