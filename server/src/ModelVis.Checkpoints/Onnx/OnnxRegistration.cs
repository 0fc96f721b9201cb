using System.Runtime.CompilerServices;

namespace ModelVis.Checkpoints.Onnx;

static class OnnxRegistration
{
    /// <summary>Registers <c>.onnx</c> with <see cref="CheckpointLoader"/> when this assembly loads, so the checkpoint browser lists an ONNX model's weights.</summary>
#pragma warning disable CA2255 // deliberate: registration without editing the loader's table
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => CheckpointLoader.OtherFormats.TryAdd(".onnx", p => new OnnxCheckpoint(p));
}
