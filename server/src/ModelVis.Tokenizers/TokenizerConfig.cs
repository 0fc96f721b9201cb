using System.Text.Json;

namespace ModelVis.Tokenizers;

/// <summary>The parts of transformers' tokenizer_config.json the tokenizer uses.</summary>
internal sealed record TokenizerConfig(string? Bos, string? Eos, string? Pad, string? Unk, bool? AddBos, bool? AddEos, bool? DoLowerCase,
    bool? StripAccents, bool? AddPrefixSpace, string? TokenizerClass, List<AddedToken> AddedTokens)
{
    static readonly TokenizerConfig Empty = new(null, null, null, null, null, null, null, null, null, null, []);

    /// <summary>Llama-style fast tokenizers derive their post-processor from add_bos_token / add_eos_token.</summary>
    public bool RebuildsTemplate => TokenizerClass is { } c && (c.Contains("Llama", StringComparison.Ordinal) || c.Contains("Gemma", StringComparison.Ordinal));

    public static TokenizerConfig Read(string path)
    {
        if (!File.Exists(path)) return Empty;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(ModelVis.IO.InputFile.ReadAllBytes(path, Tokenizer.MaxFileBytes, m => new TokenizerException(m)), new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new TokenizerException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) return Empty;
            string? Token(string name) => r.TryGetProperty(name, out var v)
                ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null
                : null;
            bool? Flag(string name) => r.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
            var added = new List<AddedToken>();
            if (r.TryGetProperty("added_tokens_decoder", out var atd) && atd.ValueKind == JsonValueKind.Object)
                foreach (var p in atd.EnumerateObject())
                {
                    if (!int.TryParse(p.Name, out var id) || p.Value.ValueKind != JsonValueKind.Object) continue;
                    var content = p.Value.TryGetProperty("content", out var c) ? c.GetString() : null;
                    if (content == null) continue;
                    bool B(string n, bool f) => p.Value.TryGetProperty(n, out var x) && x.ValueKind is JsonValueKind.True or JsonValueKind.False ? x.GetBoolean() : f;
                    bool special = B("special", false);
                    added.Add(new AddedToken(id, content, B("single_word", false), B("lstrip", false), B("rstrip", false), B("normalized", !special), special));
                }
            return new TokenizerConfig(Token("bos_token"), Token("eos_token"), Token("pad_token"), Token("unk_token"), Flag("add_bos_token"),
                Flag("add_eos_token"), Flag("do_lower_case"), Flag("strip_accents"), Flag("add_prefix_space"),
                r.TryGetProperty("tokenizer_class", out var tc) && tc.ValueKind == JsonValueKind.String ? tc.GetString() : null, added);
        }
    }
}
