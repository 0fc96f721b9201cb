using ModelVis.Checkpoints;
using ModelVis.Tokenizers;

namespace ModelVis.Models;

/// <summary>The tokenizer that belongs to a model: the one embedded in a GGUF file, or the tokenizer files of a model folder.</summary>
public static class ModelTokenizer
{
    public static Tokenizer Open(string modelPath)
    {
        if (!GgufModel.IsGguf(modelPath)) return Tokenizer.FromFolder(modelPath);
        using var gguf = new GgufFile(modelPath);
        return GgufTokenizer.FromMetadata(gguf.Metadata, Path.GetFileName(modelPath));
    }
}
