using ModelVis.Models;
using ModelVis.Models.Differentiable;
using ModelVis.Tokenizers;

namespace ModelVis.Host;

/// <summary>A language model the session holds (a model folder or a GGUF file), with its tokenizer when it has one.</summary>
public sealed class LoadedModel(string folder, LanguageModel model, Tokenizer? tokenizer, string? tokenizerError, string? name = null) : IDisposable
{
    public string Folder { get; } = folder;
    public LanguageModel Model { get; } = model;
    public Tokenizer? Tokenizer { get; } = tokenizer;
    public string Name { get; } = name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));

    DifferentiableModel? _differentiable;

    /// <summary>The model on the autodiff tape (gradient attribution): opened on first use, kept as long as this model.</summary>
    public DifferentiableModel Differentiable
    {
        get
        {
            lock (this) return _differentiable ??= DifferentiableModel.Load(Folder);
        }
    }

    /// <summary>Token <paramref name="id"/> as a person reads it (the id itself without a tokenizer).</summary>
    public string TokenText(int id) => Tokenizer?.IdToToken(id) is { } t ? Tokenizer.Readable(t) : id.ToString();

    /// <summary>
    /// A token the user typed: an id; a token of the vocabulary as the tokenizer spells it (<c>▁She</c>, <c>ĠShe</c>) or as
    /// the panels show it; else text that tokenizes to exactly one token. <paramref name="what"/> names it in errors.
    /// </summary>
    public int TypedToken(string typed, string what)
    {
        if (int.TryParse(typed.Trim(), out var id)) return id;
        if (typed.Length == 0) throw new ModelException($"{what}: empty; type a token or its id");
        var tokenizer = Tokenizer ?? throw new ModelException($"{what}: this model has no tokenizer, so give the token's id");
        if (tokenizer.TokenToId(typed) is { } exact) return exact;
        // As the panels show tokens (▁ and Ġ as spaces, byte tokens as their characters).
        for (int i = 0; i < Model.Config.Vocab; i++)
            if (tokenizer.IdToToken(i) is { } t && tokenizer.Readable(t) == typed) return i;
        var ids = tokenizer.Encode(typed, addSpecialTokens: false).Ids;
        if (ids.Length == 1) return ids[0];
        throw new ModelException($"{what}: “{typed}” is {ids.Length} tokens ({string.Join(", ", ids.Select(TokenText))}); type one token, as the panel's labels show it, or its id");
    }

    public Tokenizer RequireTokenizer() => Tokenizer ??
        throw new ModelException($"{Name} has no usable tokenizer, so text cannot be turned into ids ({tokenizerError}). Put tokenizer.json (or vocab.json + merges.txt, or vocab.txt) beside config.json.");

    public static LoadedModel Load(string folder)
    {
        if (File.Exists(folder) && !GgufModel.IsGguf(folder))
            throw new ModelException($"{Path.GetFileName(folder)} is a single weights file; a language model needs its folder with config.json (choose the folder), or a GGUF file");
        var model = ModelLoader.Load(folder);
        Tokenizer? tokenizer = null;
        string? error = null;
        try { tokenizer = ModelTokenizer.Open(folder); }
        catch (TokenizerException e) { error = e.Message; }
        return new LoadedModel(folder, model, tokenizer, error, GgufDisplayName(folder));
    }

    /// <summary>Ollama keeps GGUF files as blobs named by their hash: show the model's own name instead.</summary>
    static string? GgufDisplayName(string path)
    {
        if (!Path.GetFileName(path).StartsWith("sha256-", StringComparison.Ordinal) || !GgufModel.IsGguf(path)) return null;
        using var gguf = new ModelVis.Checkpoints.GgufFile(path);
        return gguf.Metadata.TryGetValue("general.name", out var n) && n is string s && s.Length > 0 ? s : null;
    }

    public void Dispose()
    {
        Model.Dispose();
        _differentiable?.Dispose();
    }
}
