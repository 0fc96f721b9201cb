using ILGPU;
using ILGPU.Algorithms;

namespace ModelVis.Gpu.Kernels;

/// <summary>A gated MLP's middle: <see cref="Width"/> columns of act(gate) · up from rows of [gate | up]; <see cref="Activation"/> as <see cref="GateKernel"/> numbers them.</summary>
public struct GateShape
{
    public int Width, Activation;
}

public static class GateKernel
{
    public const int Silu = 0, GeluTanh = 1, GeluExact = 2, Relu = 3;

    /// <summary>The activations the kernel has, by their Hugging Face names; null for any other.</summary>
    public static int? Number(string name) => name switch
    {
        "silu" or "swish" => Silu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => GeluTanh,
        "gelu" => GeluExact,
        "relu" => Relu,
        _ => null,
    };

    /// <summary>act[i, j] = f(gateUp[i, j]) · gateUp[i, width + j], one thread per element (index: row, column).</summary>
    public static void Apply(Index2D index, GateShape s, ArrayView<float> gateUp, ArrayView<float> activations)
    {
        long g = (long)index.X * 2 * s.Width + index.Y;
        activations[(long)index.X * s.Width + index.Y] = Activate(s.Activation, gateUp[g]) * gateUp[g + s.Width];
    }

    /// <summary>The same formulas as the CPU's ModelVis.Tensors.Activations.</summary>
    static float Activate(int activation, float x)
    {
        if (activation == Silu) return x / (1f + XMath.Exp(-x));
        if (activation == GeluTanh)
        {
            // ½x(1 + tanh(√(2/π)(x + 0.044715x³))) = x / (1 + exp(−2√(2/π)(x + 0.044715x³)))
            const float A = -2f * 0.7978845608028654f, B = -2f * 0.7978845608028654f * 0.044715f;
            return x / (1f + XMath.Exp(x * (A + B * x * x)));
        }
        if (activation == GeluExact)
        {
            // x·½(1 + erf(x/√2)) through erfc, so neither tail cancels (Numerical Recipes' fit, relative error < 1.2e-7).
            float z = XMath.Abs(x) * 0.70710678f;
            float t = 1f / (1f + 0.5f * z);
            float p = 0.17087277f;
            p = p * t - 0.82215223f; p = p * t + 1.48851587f; p = p * t - 1.13520398f; p = p * t + 0.27886807f;
            p = p * t - 0.18628806f; p = p * t + 0.09678418f; p = p * t + 0.37409196f; p = p * t + 1.00002368f;
            p = p * t - 1.26551223f;
            float e = t * XMath.Exp(-z * z + p);
            return x >= 0 ? x - 0.5f * x * e : 0.5f * x * e;
        }
        return x > 0 ? x : 0;
    }
}
