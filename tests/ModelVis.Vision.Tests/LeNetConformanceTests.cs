using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Tests;

namespace ModelVis.Vision.Tests;

/// <summary>
/// The real trained LeNet-5 on the first 10 MNIST test digits, against the PyTorch reference outputs in
/// expected/lenet5-mnist: every layer within 1e-3, probabilities within 1e-5, the same predicted digit.
/// </summary>
public class LeNetConformanceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Reports the largest differences over all digits (how much room the tolerances leave).</summary>
    [Fact]
    public void Margins_AreReported()
    {
        foreach (var (label, model, onnx) in new[] { ("sidecar", FromSafetensors.Value, false), ("onnx", FromOnnx.Value, true) })
        {
            float features = 0, probabilities = 0;
            foreach (var c in CaseNames)
            {
                using var expected = CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", c + ".safetensors"));
                var run = model.Run(NdArray.Of(expected.ReadFloats("input"), 1, 1, 28, 28));
                foreach (var (name, layer, onnxName) in LayerMap())
                {
                    float d = MaxAbsDiff(expected.ReadFloats(name), run.Layer(onnx ? onnxName : layer).Value.Floats);
                    if (name.EndsWith("softmax", StringComparison.Ordinal)) probabilities = Math.Max(probabilities, d);
                    else features = Math.Max(features, d);
                }
            }
            output.WriteLine($"LeNet {label}: max |diff| features {features:G3} (tolerance 1e-3), probabilities {probabilities:G3} (tolerance 1e-5)");
            Assert.True(features <= FeatureTolerance && probabilities <= ProbabilityTolerance);
        }
    }

    public const float FeatureTolerance = 1e-3f, ProbabilityTolerance = 1e-5f;

    public static string[] CaseNames => Directory.GetFiles(Path.Combine(Fixtures.Root, "expected", "lenet5-mnist"), "mnist_test_*.safetensors")
        .Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string> Cases() => new(CaseNames);

    public static string LeNetDir => Fixtures.Model("lenet5-mnist");
    public static string SidecarPath => Path.Combine(AppContext.BaseDirectory, "Data", "lenet.arch.json");

    /// <summary>Layer index → (reference tensor name, sidecar layer name, ONNX output name), from model_card.json.</summary>
    public static List<(string Expected, string Layer, string Onnx)> LayerMap()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LeNetDir, "model_card.json")));
        return doc.RootElement.GetProperty("layers").EnumerateArray()
            .Select(l => (l.GetProperty("expected_tensor").GetString()!, l.GetProperty("name").GetString()!, l.GetProperty("onnx_output").GetString()!))
            .ToList();
    }

    static readonly Lazy<VisionModel> FromSafetensors = new(() => VisionModel.Open(Path.Combine(LeNetDir, "lenet.safetensors"), SidecarPath));
    static readonly Lazy<VisionModel> FromOnnx = new(() => VisionModel.Open(Path.Combine(LeNetDir, "lenet.onnx"), SidecarPath));

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictWithSidecar_MatchesReference(string testCase) => Check(FromSafetensors.Value, testCase, onnxNames: false);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_MatchesReference(string testCase) => Check(FromOnnx.Value, testCase, onnxNames: true);

    /// <summary>The .pth itself, read by the PyTorch zip reader.</summary>
    [Fact]
    public void Pth_WithSidecar_MatchesReference()
    {
        var model = VisionModel.Open(Path.Combine(LeNetDir, "lenet.pth"), SidecarPath);
        Assert.Equal(10, CaseNames.Length);
        foreach (var c in CaseNames) Check(model, c, onnxNames: false);
    }

    static void Check(VisionModel model, string testCase, bool onnxNames)
    {
        using var expected = CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", testCase + ".safetensors"));
        var input = expected.ReadFloats("input");
        var run = model.Run(NdArray.Of(input, 1, 1, 28, 28));

        foreach (var (name, layer, onnx) in LayerMap())
        {
            var want = expected.ReadFloats(name);
            var got = run.Layer(onnxNames ? onnx : layer).Value.Floats;
            Assert.True(want.Length == got.Length, $"{testCase} {name}: {got.Length} values, reference has {want.Length}");
            float diff = MaxAbsDiff(want, got);
            float tol = name.EndsWith("softmax", StringComparison.Ordinal) ? ProbabilityTolerance : FeatureTolerance;
            Assert.True(diff <= tol, $"{testCase} {name}: max |diff| {diff:G3} > {tol:G1}");
        }
        Assert.True(MaxAbsDiff(expected.ReadFloats("logits"), run.Logits.Floats) <= FeatureTolerance, $"{testCase}: logits");
        Assert.True(MaxAbsDiff(expected.ReadFloats("probabilities"), run.Probabilities!) <= ProbabilityTolerance, $"{testCase}: probabilities");
        long predicted = expected.ReadInt64s(expected.Get("predicted_class"))[0];
        Assert.Equal((int)predicted, run.PredictedClass!.Value);
        Assert.Equal(5, run.Top5.Count);
        Assert.Equal(predicted.ToString(), run.Top5[0].Label);
    }

    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
