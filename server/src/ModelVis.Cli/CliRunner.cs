using System.CommandLine;
using System.Text.Json;
using ModelVis.Rpc;

namespace ModelVis.Cli;

/// <summary>Runs the parsed command; turns the engine's deliberate errors into one line on stderr and exit code 1.</summary>
public static class CliRunner
{
    /// <summary><c>--threads N</c>, accepted by every verb: the kernels' worker threads (default: every core).</summary>
    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "Worker threads for the kernels (default: every core of this machine)",
        Recursive = true,
    };

    /// <summary><c>--device</c>, accepted by every verb: where models run (default auto: CUDA when ILGPU finds a GPU).</summary>
    public static readonly Option<string> Device = new("--device")
    {
        Description = "Where models run: auto (CUDA when ILGPU finds an NVIDIA GPU, else the CPU), cpu, cuda, or ilgpu-cpu (the GPU kernels run on the CPU, to check them)",
        Recursive = true,
        DefaultValueFactory = _ => "auto",
    };

    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        Device.AcceptOnlyFromAmong([.. ModelVis.Gpu.GpuDevice.Choices]);
        var parse = root.Parse(args);
        if (parse.Errors.Count == 0)
            try { ModelVis.Host.DeviceChoice.Apply(parse.GetValue(Device)!, fallBackToCpu: parse.CommandResult.Command.Name == "serve"); }
            catch (ModelVis.Gpu.DeviceException e) { Console.Error.WriteLine($"modelvis: {e.Message}"); return 1; }
        if (parse.GetValue(Threads) is { } threads)
        {
            if (threads < 1) { Console.Error.WriteLine($"modelvis: --threads {threads}: give 1 or more"); return 1; }
            ModelVis.Tensors.Parallelism.Threads = threads;
        }
        try
        {
            // Our own handler below turns the engine's deliberate errors into one line; anything else is a bug and
            // keeps its stack trace.
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (ErrorTranslation.TryUserError(e, out var message))
        {
            Console.Error.WriteLine($"modelvis: {message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("modelvis: cancelled");
            return 130;
        }
    }

    /// <summary>Writes a result as compact JSON on stdout (camelCase, as the protocol).</summary>
    public static void WriteJson<T>(T value)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value, RpcServer.Json));
        Console.Out.Flush();
    }

    /// <summary>A progress line on stderr (a bar when stderr is a terminal).</summary>
    public static void Progress(double fraction, string message)
    {
        if (Console.IsErrorRedirected) Console.Error.WriteLine($"[{fraction * 100,5:F1}%] {message}");
        else
        {
            int width = 30, filled = (int)Math.Round(fraction * width);
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {fraction * 100,5:F1}% {message}".PadRight(100));
            if (fraction >= 1) Console.Error.WriteLine();
        }
    }

    public static IProgress<(double Fraction, string Message)> ProgressReporter { get; } =
        new SyncProgress(p => Progress(p.Fraction, p.Message));

    sealed class SyncProgress(Action<(double Fraction, string Message)> report) : IProgress<(double Fraction, string Message)>
    {
        public void Report((double Fraction, string Message) value) => report(value);
    }
}
