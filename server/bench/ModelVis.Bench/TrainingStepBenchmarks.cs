using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ModelVis.Training;
using ModelVis.Autodiff;
using ModelVis.Training.Llama;
using ModelVis.Autodiff.Optim;

namespace ModelVis.Bench;

/// <summary>
/// One optimizer step of the built-in model (forward, cross-entropy, backward, clipping, AdamW on a batch of
/// 16 × 128 tokens) in ModelVis.Training, against the same step in PyTorch (bench/training/torch_llama_step.py,
/// Debian's python3-torch, 2 threads) driven over a pipe in the same run; the Ratio column is ModelVis / PyTorch.
/// The pipe round trip is microseconds against a step of tens of milliseconds.
/// </summary>
[MemoryDiagnoser(false)]
public class TrainingStepBenchmarks
{
    LlamaModel<float> _model = null!;
    AdamW<float> _optimizer = null!;
    int[] _ids = null!, _targets = null!;
    Process? _torch;
    readonly TrainOptions _options = TrainOptions.BuiltinDefault;

    [GlobalSetup]
    public void Setup()
    {
        var c = _options.Model;
        _model = LlamaModel<float>.Initialize(c, seed: 0);
        _optimizer = new AdamW<float>(_model.Parameters) { WeightDecay = _options.WeightDecay };
        var rng = new Random(1);
        int n = _options.Batch * _options.SeqLen;
        _ids = Enumerable.Range(0, n).Select(_ => rng.Next(c.VocabSize)).ToArray();
        _targets = Enumerable.Range(0, n).Select(_ => rng.Next(c.VocabSize)).ToArray();
        _torch = StartTorch(c);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_torch is { HasExited: false })
        {
            _torch.StandardInput.WriteLine("quit");
            _torch.WaitForExit(5000);
        }
        _torch?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "PyTorch 1.13 step")]
    public void PyTorchStep()
    {
        if (_torch == null) throw new InvalidOperationException("PyTorch is not available: apt-get install python3-torch libopenblas0-pthread");
        _torch.StandardInput.WriteLine("step");
        if (_torch.StandardOutput.ReadLine() != "ok") throw new InvalidOperationException("torch_llama_step.py stopped");
    }

    [Benchmark(Description = "ModelVis.Training step")]
    public double ModelVisStep()
    {
        var tape = new Tape<float>();
        var loss = _model.Loss(tape, _ids, _targets, _options.Batch, _options.SeqLen);
        _optimizer.ZeroGrad();
        tape.Backward(loss);
        GradientClipping.ClipGlobalNorm(_model.Parameters, _options.ClipNorm);
        _optimizer.Step(1e-4);
        return loss.Data[0];
    }

    static Process? StartTorch(LlamaConfig c)
    {
        var script = FindScript();
        if (script == null || !File.Exists("/usr/bin/python3")) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { script, "--serve", "--threads", "2", "--layers", c.Layers.ToString(), "--hidden", c.HiddenSize.ToString(),
                     "--heads", c.Heads.ToString(), "--kv-heads", c.KvHeads.ToString(), "--ffn", c.IntermediateSize.ToString(), "--vocab", c.VocabSize.ToString(),
                     "--batch", TrainOptions.BuiltinDefault.Batch.ToString(), "--seq", TrainOptions.BuiltinDefault.SeqLen.ToString() })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        return p.StandardOutput.ReadLine() == "ready" ? p : null;
    }

    static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var f = Path.Combine(dir.FullName, "bench", "training", "torch_llama_step.py");
            if (File.Exists(f)) return f;
        }
        var cwd = Path.Combine(Environment.CurrentDirectory, "bench", "training", "torch_llama_step.py");
        return File.Exists(cwd) ? cwd : null;
    }
}
