using System.Numerics;

namespace ModelVis.Autodiff;

/// <summary>
/// A value in a differentiable computation: a dense row-major array with a shape, and (lazily) the
/// gradient of the loss with respect to it. <typeparamref name="T"/> is <c>float</c> for training and
/// <c>double</c> for the finite-difference checks; every op is written once for both.
/// </summary>
public sealed class Var<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    T[]? _grad;

    public Var(T[] data, int[] shape, bool requiresGrad = false, string? name = null)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != data.Length) throw new ArgumentException($"{name ?? "tensor"}: {data.Length} values for shape [{string.Join(", ", shape)}]");
        Data = data;
        Shape = shape;
        RequiresGrad = requiresGrad;
        Name = name;
    }

    public static Var<T> Zeros(string? name, bool requiresGrad, params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return new Var<T>(new T[n], shape, requiresGrad, name);
    }

    public T[] Data { get; }
    public int[] Shape { get; }
    public string? Name { get; }

    /// <summary>True for parameters and for every value computed from one; backward skips the rest.</summary>
    public bool RequiresGrad { get; }

    /// <summary>dLoss/dThis, allocated (zeroed) on first use. Ops accumulate into it (+=).</summary>
    public T[] Grad => _grad ?? AllocateGrad();
    public bool HasGrad => _grad != null;

    // Ops may first touch a gradient from several threads at once; exactly one array must win.
    T[] AllocateGrad()
    {
        Interlocked.CompareExchange(ref _grad, new T[Data.Length], null);
        return _grad!;
    }
    public void ZeroGrad() { if (_grad != null) Array.Clear(_grad); }

    public int Length => Data.Length;
    public int Rows => Shape.Length == 1 ? 1 : Data.Length / Shape[^1];
    public int Cols => Shape[^1];

    public override string ToString() => $"{Name ?? "var"}[{string.Join(", ", Shape)}]";
}
