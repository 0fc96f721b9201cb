using ModelVis.Gpu;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Host;

/// <summary>Where models load, as <c>--device</c> (the CLI) or <c>modelvis.device</c> (the extension, passed to <c>serve</c>) chose it.</summary>
public static class DeviceChoice
{
    /// <summary>Why the host is not on the device asked for (shown by the extension), or null.</summary>
    public static string? Warning { get; private set; }

    /// <summary>The kind of device models load onto: cpu, cuda or ilgpu-cpu.</summary>
    public static string Kind => ModelLoader.Device is GpuDevice gpu ? gpu.Name.Split(':')[0] : "cpu";

    /// <summary>
    /// Sets <see cref="ModelLoader.Device"/>. Asking for CUDA where there is none is an error for a command; the host
    /// (<paramref name="fallBackToCpu"/>) starts on the CPU instead and says why in <c>initialize</c>.
    /// </summary>
    public static void Apply(string choice, bool fallBackToCpu)
    {
        try
        {
            ModelLoader.Device = GpuDevice.Select(choice);
            Warning = null;
        }
        catch (DeviceException) when (fallBackToCpu)
        {
            ModelLoader.Device = ComputeDevice.Cpu;
            Warning = $"modelvis.device is \"{choice}\", but ILGPU found no CUDA device (it needs an NVIDIA GPU and its driver); models run on the CPU.";
        }
    }
}
