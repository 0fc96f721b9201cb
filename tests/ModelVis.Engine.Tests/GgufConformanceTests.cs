using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tensors;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// Every GGUF fixture (README-gguf.md) run from the file itself — configuration from its metadata, weights kept in
/// their stored type (F32, F16, Q8_0, Q4_0, Q4_K, Q6_K) — against the PyTorch reference on the weights read back from
/// that file (logits and hidden states within 1e-3, attentions within 1e-4), and against llama.cpp's own
/// log-probabilities (next-token top-1 agreement ≥ 95 %).
/// </summary>
public class GgufConformanceTests
{
    /// <summary>Where the models run; <see cref="GpuGgufConformanceTests"/> runs every case again through the GPU kernels.</summary>
    protected virtual ComputeDevice Device => ComputeDevice.Cpu;

    static readonly ConcurrentDictionary<(string, ComputeDevice), LanguageModel> Models = new();

    LanguageModel ModelOf(string file) =>
        Models.GetOrAdd((file, Device), key => ModelLoader.Load(Path.Combine(Fixtures.Root, "models", "gguf", key.Item1), key.Item2));

    static string ExpectedPath(string file, string name) =>
        Path.Combine(Fixtures.Root, "expected", "gguf", Path.GetFileNameWithoutExtension(file), name);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Root, "expected", "gguf", "manifest.json")));
        foreach (var file in manifest.RootElement.EnumerateObject())
            foreach (var c in file.Value.GetProperty("cases").EnumerateArray())
                data.Add(file.Name, c.GetString()!);
        return data;
    }

    [Fact]
    public void Every_gguf_fixture_case_is_covered() => Assert.Equal(7 * 2, Cases().Count());

    [Theory]
    [MemberData(nameof(Cases))]
    public void Capture_matches_reference_and_llama_cpp(string file, string caseName)
    {
        var model = ModelOf(file);
        using var expected = new SafetensorsFile(ExpectedPath(file, caseName + ".safetensors"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(ExpectedPath(file, caseName + ".json")));
        var tol = doc.RootElement.GetProperty("tolerances");
        double logitsTol = tol.GetProperty("logits_max_abs_diff").GetDouble();
        double hiddenTol = tol.GetProperty("hidden_max_abs_diff").GetDouble();
        double attnTol = tol.GetProperty("attn_max_abs_diff").GetDouble();

        var ids = ConformanceTests.Ints(expected, "input_ids");
        var result = model.Forward(new ForwardInput(ids), CaptureRequest.All(model.Config.Layers));
        var produced = result.Named().ToDictionary(p => p.Key, p => p.Value);
        int compared = 0;
        foreach (var t in expected.Tensors)
        {
            if (t.Name == "llamacpp_logprobs" || t.DType != DType.F32) continue;
            Assert.True(produced.TryGetValue(t.Name, out var mine), $"{file}/{caseName}: engine did not produce `{t.Name}`");
            Assert.Equal(t.Shape, mine!.LongShape);
            var reference = expected.ReadFloats(t);
            double limit = t.Name == "logits" ? logitsTol : t.Name.StartsWith("hidden_states.") ? hiddenTol : attnTol;
            double worst = ConformanceTests.MaxAbsDiff(reference, mine.Data);
            Assert.True(worst <= limit, $"{file}/{caseName} {t.Name}: max |diff| {worst:E3} > tolerance {limit:E1}");
            compared++;
        }
        Assert.Equal(2 * model.Config.Layers + 2, compared);

        // llama.cpp rounds activations before quantized dot products: compare its choices, not its numbers.
        var llama = expected.ReadFloats(expected.Get("llamacpp_logprobs"));
        int vocab = model.Config.Vocab, agree = 0;
        for (int i = 0; i < ids.Length; i++)
            if (TensorPrimitives.IndexOfMax(llama.AsSpan(i * vocab, vocab)) == TensorPrimitives.IndexOfMax(result.Logits!.Row(i))) agree++;
        Assert.True(agree >= 0.95 * ids.Length, $"{file}/{caseName}: next-token top-1 agrees with llama.cpp at {agree} of {ids.Length} positions");
    }

    [Fact]
    public void Configuration_comes_from_the_metadata()
    {
        var c = ModelOf("synth-llama-q4_k.gguf").Config;
        Assert.Equal(("llama", 4, 256, 768, 4, 2, 64, 512), (c.ModelType, c.Layers, c.Hidden, c.Intermediate, c.Heads, c.KvHeads, c.HeadDim, c.Vocab));
        Assert.False(c.TieWordEmbeddings);
        var s = ModelOf("stories260K-f32.gguf").Config;
        Assert.True(s.TieWordEmbeddings);
        Assert.Equal((5, 64, 8, 4, 1), (s.Layers, s.Hidden, s.Heads, s.KvHeads, s.BosTokenId));
    }
}

public class GgufBlobTests
{
    [Fact]
    public void A_gguf_file_without_its_extension_opens_by_its_magic_as_ollama_keeps_them()
    {
        var dir = Directory.CreateTempSubdirectory("modelvis-ollama-").FullName;
        try
        {
            var blob = Path.Combine(dir, "sha256-" + new string('a', 64));
            File.Copy(Path.Combine(Fixtures.Root, "models", "gguf", "stories260K-q4_0.gguf"), blob);
            File.WriteAllText(Path.Combine(dir, "sha256-" + new string('b', 64)), "{\"not\": \"a model\"}");
            Assert.True(GgufModel.IsGguf(blob));
            Assert.False(GgufModel.IsGguf(Path.Combine(dir, "sha256-" + new string('b', 64))));
            using var model = ModelLoader.Load(blob);
            var ids = ModelTokenizer.Open(blob).Encode("Once upon a time").Ids;
            Assert.Equal(new[] { 1, 403, 407, 261, 378 }, ids);
            var next = model.Generate(ids, 1, stopAtEos: false);
            Assert.Single(next);
            using var ckpt = CheckpointLoader.Open(blob);
            Assert.Contains(ckpt.Tensors, t => t.Name == "token_embd.weight");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
