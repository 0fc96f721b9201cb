using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using ModelVis.Models;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary><c>initialize</c>: versions, the machine and the device models run on; <c>host/memory</c>: what the process holds.</summary>
public sealed class InitializeHandler : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.Register<JsonElement?, InitializeResult>("initialize", (_, _) => new InitializeResult(
            new ServerInfo("modelvis-host", Versions.Product),
            $".NET {Environment.Version}",
            DeviceInfo.Current with { Kind = DeviceChoice.Kind, Accelerator = ModelLoader.Device.Name, Warning = DeviceChoice.Warning }));
        server.Register<JsonElement?, HostMemory>("host/memory", (_, _) => HostMemory.Measure());
    }
}

/// <summary>
/// The host's memory after a full, compacting collection (so that what is left is what the host holds, not garbage
/// not yet collected): the managed heap, the process's resident set, and the resident set's peak since start.
/// </summary>
public sealed record HostMemory(long ManagedBytes, long WorkingSetBytes, long PeakWorkingSetBytes)
{
    public static HostMemory Measure()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new HostMemory(GC.GetTotalMemory(forceFullCollection: false), process.WorkingSet64, process.PeakWorkingSet64);
    }
}

public sealed record ServerInfo(string Name, string Version);
public sealed record InitializeResult(ServerInfo ServerInfo, string Runtime, DeviceInfo Device);

/// <summary>The machine, and where models run: <see cref="Kind"/> cpu, cuda or ilgpu-cpu, <see cref="Accelerator"/> its name, <see cref="Warning"/> why not the one asked for.</summary>
public sealed record DeviceInfo(string Kind, string CpuModel, int Cores, int SimdWidthBits, string[] InstructionSets, string Os, string Architecture)
{
    public string? Accelerator { get; init; }
    public string? Warning { get; init; }

    public static DeviceInfo Current { get; } = Detect();

    static DeviceInfo Detect()
    {
        int width = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 64;
        var sets = new List<string>();
        if (Avx2.IsSupported) sets.Add("AVX2");
        if (Fma.IsSupported) sets.Add("FMA");
        if (Avx512F.IsSupported) sets.Add("AVX-512F");
        if (Avx512BW.IsSupported) sets.Add("AVX-512BW");
        if (AvxVnni.IsSupported) sets.Add("AVX-VNNI");
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) sets.Add("NEON");
        return new DeviceInfo("cpu", ReadCpuModel(), Environment.ProcessorCount, width, sets.ToArray(),
            RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString());
    }

    static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
