using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>A short BenchmarkDotNet job: the machines are shared, so few, short iterations.</summary>
public sealed class EngineShortConfig : ManualConfig
{
    public EngineShortConfig() =>
        AddJob(Job.Default.WithWarmupCount(1).WithIterationCount(5).WithLaunchCount(1).WithId("short"));
}

/// <summary>The hot loop alone: one GPT-2-small MLP product (128 × 768 × 3072), B packed.</summary>
[Config(typeof(EngineShortConfig)), MemoryDiagnoser]
public class EngineMatMulBenchmark
{
    float[] _a = [], _c = [];
    PackedMatrix _b = null!;

    [Params(128, 1024)] public int Rows;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Enumerable.Range(0, Rows * 768).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = PackedMatrix.FromTransposed(Enumerable.Range(0, 3072 * 768).Select(_ => (float)rng.NextDouble()).ToArray(), 3072, 768);
        _c = new float[Rows * 3072];
    }

    [Benchmark] public void MatMul768x3072() => MatMul.Multiply(_a, Rows, _b, _c);
}

/// <summary>GPT-2 small forward pass over 128 tokens with every attention and hidden state kept.</summary>
[Config(typeof(EngineShortConfig)), MemoryDiagnoser]
public class EngineForwardBenchmark
{
    LanguageModel _model = null!;
    ForwardInput _input = null!;
    CaptureRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelLoader.Load(EngineModels.Gpt2Small());
        var rng = new Random(7);
        _input = new ForwardInput(Enumerable.Range(0, 128).Select(_ => rng.Next(_model.Config.Vocab)).ToArray());
        _request = CaptureRequest.All(_model.Config.Layers) with { MlpActivations = false };
    }

    [Benchmark] public CaptureResult Gpt2Small128() => _model.Forward(_input, _request);

    [GlobalCleanup] public void Cleanup() => _model.Dispose();
}
