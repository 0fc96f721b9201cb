using ModelVis.Autodiff;
using Xunit;

namespace ModelVis.Autodiff.Tests;

/// <summary>
/// Compares every analytic gradient with central finite differences, (f(x+h) − f(x−h)) / 2h, in float64.
/// The scalar checked is Σ output ⊙ R for a fixed random R, so every output element's gradient path is exercised.
/// </summary>
static class GradientCheck
{
    public static Var<double> Random(Random rng, string name, double scale, params int[] shape)
    {
        var v = Var<double>.Zeros(name, true, shape);
        for (int i = 0; i < v.Length; i++) v.Data[i] = scale * (2 * rng.NextDouble() - 1);
        return v;
    }

    /// <summary>
    /// <paramref name="loss"/> builds a scalar from the inputs on the given tape. Checks at most
    /// <paramref name="maxPerInput"/> elements of each input (spread evenly), all when it is larger.
    /// </summary>
    public static void Check(Func<Tape<double>, Var<double>> loss, Var<double>[] inputs, double h = 1e-6, double rtol = 1e-5, double atol = 1e-8, int maxPerInput = 400)
    {
        var tape = new Tape<double>();
        foreach (var x in inputs) x.ZeroGrad();
        var l = loss(tape);
        tape.Backward(l);
        var analytic = inputs.Select(x => (double[])x.Grad.Clone()).ToArray();
        int checkedCount = 0;
        for (int v = 0; v < inputs.Length; v++)
        {
            var x = inputs[v];
            int step = Math.Max(1, x.Length / maxPerInput);
            for (int i = 0; i < x.Length; i += step)
            {
                double saved = x.Data[i];
                x.Data[i] = saved + h;
                double up = loss(new Tape<double> { Recording = false }).Data[0];
                x.Data[i] = saved - h;
                double down = loss(new Tape<double> { Recording = false }).Data[0];
                x.Data[i] = saved;
                double numeric = (up - down) / (2 * h);
                double a = analytic[v][i];
                double tol = atol + rtol * Math.Max(Math.Abs(a), Math.Abs(numeric));
                Assert.True(Math.Abs(a - numeric) <= tol,
                    $"{x.Name}[{i}]: analytic {a:G10} vs finite difference {numeric:G10} (|diff| {Math.Abs(a - numeric):G3} > {tol:G3})");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 0);
    }

    public static double[] Weights(Random rng, int n) => Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
}
