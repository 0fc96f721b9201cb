using System.Collections.Concurrent;
using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tensors;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Engine.Tests;

/// <summary>
/// Every transformer case in ../shared/fixtures/expected against the engine: each captured tensor within the
/// case's suggested tolerance, masked attention entries exactly 0, logits argmax per position exact.
/// </summary>
public class ConformanceTests(ITestOutputHelper output)
{
    static readonly string[] TransformerModels =
        ["tiny-gpt2", "tiny-gpt2-f16", "tiny-gpt2-bf16", "tiny-gpt2-init0.1", "tiny-bert", "tiny-bert-init0.1", "tiny-llama", "stories260K",
         "tiny-qwen3", "tiny-gemma2", "tiny-gemma3", "tiny-olmo2", "tiny-phi3", "tiny-gpt-neox",
         "tiny-t5"];

    /// <summary>Where the models run; <see cref="GpuConformanceTests"/> runs every case again through the GPU kernels.</summary>
    protected virtual ComputeDevice Device => ComputeDevice.Cpu;

    static readonly ConcurrentDictionary<(string, ComputeDevice), LanguageModel> Models = new();

    internal static LanguageModel ModelOf(string name, ComputeDevice? device = null) =>
        Models.GetOrAdd((name, device ?? ComputeDevice.Cpu), key => ModelLoader.Load(Fixtures.Model(key.Item1), key.Item2));

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in TransformerModels)
            foreach (var json in Directory.GetFiles(Path.Combine(Fixtures.Root, "expected", model), "*.json").Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileNameWithoutExtension(json);
                if (name.StartsWith("greedy_", StringComparison.Ordinal)) continue; // checked by Greedy_generation_reproduces_reference
                data.Add(model, name);
            }
        return data;
    }

    [Fact]
    public void Every_transformer_fixture_case_is_covered()
    {
        // 3 cases × 5 GPT-2/Llama variants + 5 × 2 BERT variants + 3 stories260K forward cases
        // + 3 cases × 6 newer decoders (Qwen3, Gemma 2, Gemma 3, OLMo 2, Phi-3, GPT-NeoX) + 3 T5 cases.
        Assert.Equal(3 * 5 + 5 * 2 + 3 + 3 * 6 + 3, Cases().Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Capture_matches_reference(string modelName, string caseName)
    {
        var model = ModelOf(modelName, Device);
        using var expected = new SafetensorsFile(Fixtures.Expected(modelName, caseName + ".safetensors"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Expected(modelName, caseName + ".json")));
        var tol = doc.RootElement.GetProperty("suggested_tolerance");
        double logitsTol = tol.GetProperty("logits_max_abs_diff").GetDouble();
        double hiddenTol = tol.GetProperty("hidden_states_max_abs_diff").GetDouble();
        double attnTol = tol.GetProperty("attentions_max_abs_diff").GetDouble();

        var ids = Ints(expected, "input_ids");
        var input = new ForwardInput(ids,
            expected.TryGet("attention_mask", out _) ? Ints(expected, "attention_mask") : null,
            expected.TryGet("token_type_ids", out _) ? Ints(expected, "token_type_ids") : null,
            expected.TryGet("decoder_input_ids", out _) ? Ints(expected, "decoder_input_ids") : null);
        var result = model.Forward(input, CaptureRequest.All(model.Config));

        var produced = result.Named().ToDictionary(p => p.Key, p => p.Value);
        int compared = 0;
        foreach (var t in expected.Tensors)
        {
            if (t.DType != DType.F32) continue;
            Assert.True(produced.TryGetValue(t.Name, out var mine), $"{modelName}/{caseName}: engine did not produce `{t.Name}`");
            Assert.Equal(t.Shape, mine!.LongShape);
            var reference = expected.ReadFloats(t);
            // T5's names: encoder_/decoder_hidden_states.k, encoder_/decoder_/cross_attentions.l.
            double limit = t.Name == "logits" ? logitsTol : t.Name.Contains("hidden_states.") ? hiddenTol : attnTol;
            double worst = MaxAbsDiff(reference, mine.Data);
            if (t.Name.Contains("attentions."))
                for (int i = 0; i < reference.Length; i++)
                    if (reference[i] == 0f) Assert.True(mine.Data[i] == 0f, $"{modelName}/{caseName} {t.Name}[{i}]: masked entry is {mine.Data[i]}, not exactly 0");
            Assert.True(worst <= limit, $"{modelName}/{caseName} {t.Name}: max |diff| {worst:E3} > tolerance {limit:E1}");
            output.WriteLine($"{modelName}/{caseName} {t.Name}: max |diff| {worst:E2}");
            compared++;
        }
        // logits + L+1 hidden states + L attentions; an encoder-decoder's encoder adds Le+1 and Le, its cross-attention L.
        int Le = model.Config.EncoderLayers, L = model.Config.Layers;
        Assert.Equal(2 * L + 2 + (model.Config.IsEncoderDecoder ? 2 * Le + 1 + L : 0), compared);

        var argmax = doc.RootElement.GetProperty("logits_argmax_per_position").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var logits = result.Logits!;
        Assert.Equal(argmax.Length, logits.Shape[0]);
        for (int i = 0; i < argmax.Length; i++)
            Assert.Equal(argmax[i], System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Row(i)));
    }

    [Fact]
    public void Greedy_generation_reproduces_reference()
    {
        var model = ModelOf("stories260K", Device);
        using var expected = new SafetensorsFile(Fixtures.Expected("stories260K", "greedy_once_upon_a_time.safetensors"));
        var prompt = Ints(expected, "prompt_ids");
        var reference = Ints(expected, "generated_ids");
        var generated = model.Generate(prompt, reference.Length, stopAtEos: false);
        Assert.Equal(reference, generated);
    }

    /// <summary>max |a − b|, NaN-safe: a NaN anywhere makes it NaN, which fails every ≤ comparison.</summary>
    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double diff = Math.Abs(a[i] - b[i]);
            if (double.IsNaN(diff)) return double.NaN;
            worst = Math.Max(worst, diff);
        }
        return worst;
    }

    internal static int[] Ints(SafetensorsFile file, string name) =>
        Array.ConvertAll(file.ReadInt64s(file.Tensors.First(t => t.Name == name)), v => checked((int)v));
}
