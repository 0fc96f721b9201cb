using ModelVis.Gpu;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Bench;

/// <summary>
/// <c>npm run bench -- gpu</c>: the same forward passes (every layer's attention and hidden states kept, as the panel asks)
/// on the CUDA device and on this machine's CPU path, medians of <c>--reps</c> after a warm-up, as ratios; the largest
/// logit difference between the two; and the device memory ModelVis held at its peak (weights placed + working buffers).
/// Where ILGPU finds no CUDA device it says so and stops. <c>--emulate</c> runs the report on ILGPU's CPU accelerator with
/// a small model instead, to check the script itself on a machine without a GPU (its timings mean nothing).
/// </summary>
public static class GpuReport
{
    public static int Run(string[] args)
    {
        bool emulate = args.Contains("--emulate");
        int reps = Timing.Reps(args);
        GpuDevice? device = emulate ? GpuDevice.OpenCpuAccelerator() : GpuDevice.OpenCuda();
        if (device is null)
        {
            Console.WriteLine("no CUDA device: ILGPU found none (it needs an NVIDIA GPU and its driver); nothing to measure. `--emulate` checks this report on ILGPU's CPU accelerator.");
            return 0;
        }
        Console.WriteLine($"device: {device.Name}; CPU path: {Parallelism.Threads} threads, {Environment.ProcessorCount} cores");
        var cases = emulate
            ? new[] { ("llama-small Q4_K", LlamaModels.Ensure(LlamaShape.Small, LlamaModels.Storage.Q4_K), 64) }
            : new[]
            {
                ("gpt2-small F32", EngineModels.Gpt2Small(), 512),
                ("llama-1b BF16", LlamaModels.Ensure(LlamaShape.Llama1B, LlamaModels.Storage.BF16), 512),
                ("llama-1b Q4_K", LlamaModels.Ensure(LlamaShape.Llama1B, LlamaModels.Storage.Q4_K), 512),
                ("llama-8b Q4_K", LlamaModels.Ensure(LlamaShape.Llama8B, LlamaModels.Storage.Q4_K), 512),
            };
        Console.WriteLine($"{"model",-18} {"tokens",6} {"cpu s",8} {"gpu s",8} {"cpu/gpu",8} {"max |Δlogit|",13} {"weights GB",11} {"peak GB",8}");
        foreach (var (name, path, tokens) in cases)
        {
            using var cpu = ModelLoader.Load(path, ComputeDevice.Cpu);
            using var gpu = ModelLoader.Load(path, device);
            var input = new ForwardInput(Enumerable.Range(0, tokens).Select(i => (i * 7919 + 13) % cpu.Config.Vocab).ToArray());
            var request = CaptureRequest.All(cpu.Config.Layers);
            var (cpuSeconds, cpuLogits) = Time(cpu, input, request, reps);
            var (gpuSeconds, gpuLogits) = Time(gpu, input, request, reps);
            double diff = 0;
            for (int i = 0; i < cpuLogits.Length; i++) diff = Math.Max(diff, Math.Abs(cpuLogits[i] - gpuLogits[i]));
            Console.WriteLine($"{name,-18} {tokens,6} {cpuSeconds,8:F3} {gpuSeconds,8:F3} {cpuSeconds / gpuSeconds,8:F2} {diff,13:E2} {device.PlacedBytes / 1e9,11:F2} {device.PeakBytes / 1e9,8:F2}");
        }
        return 0;
    }

    /// <summary>Median seconds of <paramref name="reps"/> passes after one warm-up (which also compiles the kernels), and the logits.</summary>
    static (double Seconds, float[] Logits) Time(LanguageModel model, ForwardInput input, CaptureRequest request, int reps)
    {
        model.Forward(input, request);
        var (median, last) = Timing.Time(reps, () => model.Forward(input, request));
        return (median, last.Logits!.Data);
    }
}
