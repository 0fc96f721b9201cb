using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Analysis.Tests;

/// <summary>One case of fixtures/expected/interp: its JSON (ids, position, target, tolerances) and its tensors.</summary>
sealed class InterpCase : IDisposable
{
    public readonly JsonElement Json;
    public readonly SafetensorsFile Tensors;
    public InterpCase(string model, string name)
    {
        var dir = Path.Combine(Fixtures.Root, "expected", "interp", model);
        Json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, name + ".json"))).RootElement;
        Tensors = new SafetensorsFile(Path.Combine(dir, name + ".safetensors"));
    }
    public int[] Ints(string key) => Json.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
    public int Int(string key) => Json.GetProperty(key).GetInt32();
    public bool Has(string tensor) => Tensors.TryGet(tensor, out _);
    public float[] Floats(string tensor) => Tensors.ReadFloats(tensor);
    public (double Rtol, double Atol) Tolerance(string group)
    {
        var t = Json.GetProperty("suggested_tolerance").GetProperty(group);
        return (t[0].GetDouble(), t[1].GetDouble());
    }
    public void Dispose() => Tensors.Dispose();

    /// <summary>Asserts the tolerance rule and returns the error as a fraction of the allowance (for the log).</summary>
    public static double Within(ITestOutputHelper output, string what, IReadOnlyList<double> engine, float[] reference, (double Rtol, double Atol) tol)
    {
        Assert.Equal(reference.Length, engine.Count);
        double maxRef = reference.Max(v => Math.Abs((double)v)), maxErr = 0;
        for (int i = 0; i < reference.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(engine[i] - reference[i]));
        double allowed = tol.Atol + tol.Rtol * maxRef;
        output.WriteLine($"{what}: max error {maxErr:E2}, allowed {allowed:E2} ({maxErr / allowed:P1} of it)");
        Assert.True(maxErr <= allowed, $"{what}: max |engine − reference| = {maxErr:E3} > {allowed:E3}");
        return maxErr / allowed;
    }
}
