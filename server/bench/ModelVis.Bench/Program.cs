using BenchmarkDotNet.Running;
using ModelVis.Bench;

// `engine` prints the engine's report (FMA peak, matmul, forward passes beside PyTorch; see EngineReport),
// `engine-forward` is its child process, `quant` the GGUF dequantization throughput (QuantReport); `models` prints
// the real-sized models' report (1B BF16/Q8_0/Q4_K, 8B Q4_K beside llama.cpp; see ModelsReport), `models-case` is its
// child process (also `families`': Gemma 2 and GPT-NeoX beside their Llama twins, see FamiliesReport); `patching` times residual activation patching beside PyTorch hooks (PatchingReport), `attribution` integrated gradients beside PyTorch autograd (AttributionReport), `gpu` the same forward passes on CUDA and on the CPU (GpuReport). Anything else goes to BenchmarkDotNet's switcher, so every [Benchmark] class in this assembly can be
// picked with --filter.
return args.FirstOrDefault() switch
{
    "engine" => EngineReport.Run(args),
    "engine-forward" => EngineReport.Child(args),
    "engine-profile" => EngineProfile.Run(args),
    "quant" => QuantReport.Run(args),
    "models" => ModelsReport.Run(args),
    "models-case" => ModelsReport.Child(args),
    "families" => FamiliesReport.Run(args),
    "patching" => PatchingReport.Run(args),
    "attribution" => AttributionReport.Run(args),
    "gpu" => GpuReport.Run(args),
    "bench-models" => PrintBenchModels(),
    _ => RunBenchmarks(args),
};

// The random-weight benchmark models (written once), one folder per line: for drivers outside .NET.
static int PrintBenchModels()
{
    Console.WriteLine(EngineModels.Gpt2Small());
    Console.WriteLine(EngineModels.Llama135M());
    return 0;
}

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EngineReport).Assembly).Run(args);
    return 0;
}
