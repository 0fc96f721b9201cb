using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>Opens a Hugging Face model folder (config.json + weights in any format CheckpointLoader reads), or a GGUF file.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Widen every weight matrix to packed float32 when loading instead of keeping F16/BF16/quantized weights as
    /// stored (the old behaviour: faster per product, twice the memory of a BF16 file). Also MODELVIS_WIDEN_WEIGHTS=1.
    /// </summary>
    public static bool WidenWeightsToFloat32
    {
        get => Weights.WidenToFloat32;
        set => Weights.WidenToFloat32 = value;
    }

    /// <summary>The device models load onto when none is named: the CPU unless the host or the CLI chose another (<c>--device</c>).</summary>
    public static ComputeDevice Device { get; set; } = ComputeDevice.Cpu;

    /// <summary>
    /// Reads config.json, picks the architecture family from its model_type, and loads and packs the weights.
    /// Unknown model types, configs missing what the family needs, and weights that do not fit the config all
    /// throw <see cref="ModelException"/> (or <see cref="CheckpointException"/> for a damaged file) with a message a person can act on.
    /// </summary>
    /// <param name="device">Where products and attention run (<see cref="Device"/> when not given); each weight matrix is
    /// uploaded there once, here.</param>
    public static LanguageModel Load(string dir, ComputeDevice? device = null)
    {
        device ??= Device;
        if (GgufModel.IsGguf(dir)) return GgufModel.Load(dir, device);
        if (File.Exists(dir) && Path.GetFileName(dir) == "config.json") dir = Path.GetDirectoryName(Path.GetFullPath(dir))!;
        if (!Directory.Exists(dir)) throw new ModelException($"{dir}: no such model folder");
        var config = ModelConfig.FromFolder(dir);
        return WithCheckpoint(CheckpointLoader.Open(dir), config, device, w => config.Family switch
        {
            ModelFamily.Gpt2 => Gpt2.Load(config, dir, w),
            ModelFamily.Bert => Bert.Load(config, dir, w),
            ModelFamily.Llama => Llama.Load(config, dir, w),
            ModelFamily.Qwen3 => Qwen3.Load(config, dir, w),
            ModelFamily.Phi3 => Phi3.Load(config, dir, w),
            ModelFamily.Olmo2 => Olmo2.Load(config, dir, w),
            ModelFamily.Gemma2 => Gemma2.Load(config, dir, w),
            ModelFamily.Gemma3 => Gemma3.Load(config, dir, w),
            ModelFamily.GptNeoX => GptNeoX.Load(config, dir, w),
            ModelFamily.T5 => T5.Load(config, dir, w),
            _ => throw new ModelException($"model_type \"{config.ModelType}\" is not supported; supported model types: {ModelConfig.SupportedList}"),
        });
    }

    /// <summary>
    /// The model reads its stored weights from the checkpoint while it lives, so it owns it, and the copies of its matrices
    /// on the device; a failed load closes and frees both. The weights must fit the device's free memory before any is uploaded.
    /// </summary>
    internal static LanguageModel WithCheckpoint(ICheckpoint checkpoint, ModelConfig config, ComputeDevice device, Func<Weights, LanguageModel> load)
    {
        var weights = new Weights(checkpoint, config.ModelType) { Device = device };
        try
        {
            CheckRoomOnDevice(checkpoint, device);
            var model = load(weights);
            model.Own(checkpoint);
            model.Own(weights);
            model.Device = device;
            return model;
        }
        catch
        {
            weights.Dispose();
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>Refuses, with the numbers, a model whose matrices would not fit in the accelerator's free memory.</summary>
    static void CheckRoomOnDevice(ICheckpoint checkpoint, ComputeDevice device)
    {
        if (device.FreeBytes is not { } free) return;
        long needed = checkpoint.Tensors.Where(t => t.Shape.Length == 2).Sum(t => t.ByteLength);
        if (needed > free)
            throw new ModelException(
                $"{Path.GetFileName(checkpoint.Path)}: its weight matrices need {needed / 1e9:F1} GB on {device.Name}, which has {free / 1e9:F1} GB free; " +
                "choose a smaller or more quantized model, or run it on the CPU (modelvis.device = cpu, or --device cpu)");
    }
}
