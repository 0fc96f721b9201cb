using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary><c>initialize</c>: versions and the compute device.</summary>
public sealed class InitializeHandler : IHandlerFamily
{
    public void Register(RpcServer server, Session session) =>
        server.Register<JsonElement?, InitializeResult>("initialize", (_, _) => new InitializeResult(
            new ServerInfo("modelvis-host", Versions.Product),
            $".NET {Environment.Version}",
            DeviceInfo.Current));
}

public sealed record ServerInfo(string Name, string Version);
public sealed record InitializeResult(ServerInfo ServerInfo, string Runtime, DeviceInfo Device);

public sealed record DeviceInfo(string Kind, string CpuModel, int Cores, int SimdWidthBits, string[] InstructionSets, string Os, string Architecture)
{
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
