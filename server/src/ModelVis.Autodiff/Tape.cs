using System.Numerics;

namespace ModelVis.Autodiff;

/// <summary>
/// Reverse-mode differentiation: every op computes its output at once (eager) and, if any input needs a
/// gradient, records a closure that maps the output's gradient to its inputs' gradients. Backward replays
/// the closures newest first. New ops (conv2d, pooling, ...) plug in by being an extension method on the
/// tape that does the same: compute, then <see cref="Record"/> the backward.
/// </summary>
public sealed class Tape<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly List<Action> _backward = new();

    /// <summary>When false (inference, analysis), ops record nothing and keep no extra buffers alive.</summary>
    public bool Recording { get; init; } = true;

    public int Count => _backward.Count;

    /// <summary>Whether an op with these inputs must record a backward.</summary>
    public bool Needs(params Var<T>[] inputs)
    {
        if (!Recording) return false;
        foreach (var v in inputs) if (v.RequiresGrad) return true;
        return false;
    }

    public void Record(Action backward) => _backward.Add(backward);

    /// <summary>Seeds dLoss/dLoss = 1 on a scalar and runs every recorded backward, newest first.</summary>
    public void Backward(Var<T> scalarLoss)
    {
        if (scalarLoss.Length != 1) throw new ArgumentException($"backward needs a scalar loss, got {scalarLoss}");
        scalarLoss.Grad[0] = T.One;
        for (int i = _backward.Count - 1; i >= 0; i--) _backward[i]();
        _backward.Clear();
    }

    public void Clear() => _backward.Clear();

    /// <summary>A fresh output value that requires grad when any input does.</summary>
    public Var<T> Output(string name, int[] shape, params Var<T>[] inputs) =>
        Var<T>.Zeros(name, Needs(inputs), shape);
}
