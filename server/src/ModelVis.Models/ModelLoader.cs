using ModelVis.Checkpoints;

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

    /// <summary>
    /// Reads config.json, picks the architecture family from its model_type, and loads and packs the weights.
    /// Unknown model types, configs missing what the family needs, and weights that do not fit the config all
    /// throw <see cref="ModelException"/> (or <see cref="CheckpointException"/> for a damaged file) with a message a person can act on.
    /// </summary>
    public static LanguageModel Load(string dir)
    {
        if (GgufModel.IsGguf(dir)) return GgufModel.Load(dir);
        if (File.Exists(dir) && Path.GetFileName(dir) == "config.json") dir = Path.GetDirectoryName(Path.GetFullPath(dir))!;
        if (!Directory.Exists(dir)) throw new ModelException($"{dir}: no such model folder");
        var config = ModelConfig.FromFolder(dir);
        return WithCheckpoint(CheckpointLoader.Open(dir), checkpoint => config.Family switch
        {
            ModelFamily.Gpt2 => Gpt2.Load(config, dir, checkpoint),
            ModelFamily.Bert => Bert.Load(config, dir, checkpoint),
            ModelFamily.Llama => Llama.Load(config, dir, checkpoint),
            ModelFamily.Qwen3 => Qwen3.Load(config, dir, checkpoint),
            ModelFamily.Phi3 => Phi3.Load(config, dir, checkpoint),
            ModelFamily.Olmo2 => Olmo2.Load(config, dir, checkpoint),
            ModelFamily.Gemma2 => Gemma2.Load(config, dir, checkpoint),
            ModelFamily.Gemma3 => Gemma3.Load(config, dir, checkpoint),
            ModelFamily.GptNeoX => GptNeoX.Load(config, dir, checkpoint),
            ModelFamily.T5 => T5.Load(config, dir, checkpoint),
            _ => throw new ModelException($"model_type \"{config.ModelType}\" is not supported; supported model types: {ModelConfig.SupportedList}"),
        });
    }

    /// <summary>The model reads its stored weights from the checkpoint while it lives, so it owns it; a failed load closes it.</summary>
    internal static LanguageModel WithCheckpoint(ICheckpoint checkpoint, Func<ICheckpoint, LanguageModel> load)
    {
        try
        {
            var model = load(checkpoint);
            model.Own(checkpoint);
            return model;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }
}
