using System.Text.Json;
using System.Text.RegularExpressions;
using ModelVis.IO;
using ModelVis.Tokenizers.Models;
using ModelVis.Tokenizers.Normalizers;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers;

/// <summary>Reads Hugging Face's tokenizer.json into the pipeline's parts; every error names the file and the field.</summary>
internal sealed class TokenizerJson(string file)
{
    // The largest real tokenizer.json files (262k-token vocabularies) are about 33 MB; a 100 MB string, a FIFO or
    // /dev/zero is refused before anything is read.
    public static Tokenizer.Parts Read(string path) => Read(InputFile.ReadAllBytes(path, Tokenizer.MaxFileBytes, m => new TokenizerException(m)), path);

    /// <summary>tokenizer.json given as its bytes; <paramref name="path"/> names it in errors.</summary>
    public static Tokenizer.Parts Read(byte[] json, string path)
    {
        JsonDocument doc;
        // JsonDocument checks the structure, not the strings' bytes: invalid UTF-8 would surface later as an
        // InvalidOperationException from whichever string is read first.
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new TokenizerException($"{path}: not valid UTF-8 text");
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new TokenizerException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var reader = new TokenizerJson(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerException($"{path}: expected a JSON object at the top level");
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new TokenizerException($"{path}: the \"model\" section is missing");
            var added = reader.AddedTokens(root);
            return new Tokenizer.Parts(
                reader.Model(model),
                Opt(root, "normalizer") is { } n ? reader.Normalizer(n, "normalizer") : null,
                Opt(root, "pre_tokenizer") is { } p ? reader.PreTokenizer(p, "pre_tokenizer") : null,
                Opt(root, "post_processor") is { } pp ? reader.PostProcessor(pp, "post_processor") : null,
                Opt(root, "decoder") is { } d ? reader.Decoder(d, "decoder") : null,
                added,
                path);
        }
    }

    static JsonElement? Opt(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static string? Str(JsonElement e, string name) => Opt(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;
    static bool Bool(JsonElement e, string name, bool fallback) => Opt(e, name) is { } v && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
    static int Int(JsonElement e, string name, int fallback) => Opt(e, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var i) ? i : fallback;

    /// <summary>A token id: an integer in [0, <see cref="Tokenizer.MaxTokenId"/>], or an error naming the field (2^40 escaped as a FormatException).</summary>
    int Id(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var id) && id >= 0 && id <= Tokenizer.MaxTokenId ? id
        : throw new TokenizerException($"{file}: {where} is {(v.GetRawText() is var raw && raw.Length > 40 ? raw[..40] + "…" : raw)}, not a token id (an integer from 0 to {Tokenizer.MaxTokenId:N0})");

    string Type(JsonElement e, string where) => Str(e, "type") ?? throw new TokenizerException($"{file}: {where} has no \"type\"");

    TokenizerException Unknown(string where, string type, string known) =>
        new($"{file}: {where} type \"{type}\" is not supported (known: {known})");

    List<AddedToken> AddedTokens(JsonElement root)
    {
        var list = new List<AddedToken>();
        if (Opt(root, "added_tokens") is not { ValueKind: JsonValueKind.Array } arr) return list;
        int i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            var content = Str(t, "content") ?? throw new TokenizerException($"{file}: added_tokens[{i}] has no \"content\"");
            if (Opt(t, "id") is not { ValueKind: JsonValueKind.Number } id) throw new TokenizerException($"{file}: added_tokens[{i}] (\"{content}\") has no \"id\"");
            bool special = Bool(t, "special", false);
            list.Add(new AddedToken(Id(id, $"added_tokens[{i}].id"), content, Bool(t, "single_word", false), Bool(t, "lstrip", false), Bool(t, "rstrip", false),
                Bool(t, "normalized", !special), special));
            i++;
        }
        return list;
    }

    // ---------- models ----------

    TokenizerModel Model(JsonElement m)
    {
        var type = Str(m, "type");
        var vocab = Opt(m, "vocab");
        if (type == null)
        {
            // The original serialisation has no "type": infer it as Hugging Face does from the fields present.
            if (Opt(m, "merges") != null) type = "BPE";
            else if (vocab is { ValueKind: JsonValueKind.Array }) type = "Unigram";
            else if (Opt(m, "continuing_subword_prefix") != null || Opt(m, "max_input_chars_per_word") != null) type = "WordPiece";
            else if (vocab != null) type = "WordLevel";
            else throw new TokenizerException($"{file}: model has no \"type\" and no \"vocab\"");
        }
        switch (type)
        {
            case "BPE":
            {
                var v = VocabObject(m, "BPE");
                return new BpeModel(v, Merges(m), Str(m, "unk_token"), Str(m, "continuing_subword_prefix"), Str(m, "end_of_word_suffix"),
                    Bool(m, "fuse_unk", false), Bool(m, "byte_fallback", false), Bool(m, "ignore_merges", false), file);
            }
            case "WordPiece":
                return new WordPieceModel(VocabObject(m, "WordPiece"), Str(m, "unk_token") ?? "[UNK]", Str(m, "continuing_subword_prefix") ?? "##",
                    Int(m, "max_input_chars_per_word", 100), file);
            case "WordLevel":
                return new WordLevelModel(VocabObject(m, "WordLevel"), Str(m, "unk_token"), file);
            case "Unigram":
            {
                if (vocab is not { ValueKind: JsonValueKind.Array } arr) throw new TokenizerException($"{file}: model.vocab of a Unigram model must be a list of [piece, score]");
                var pieces = new List<(string, double)>();
                int i = 0;
                foreach (var entry in arr.EnumerateArray())
                {
                    if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
                        throw new TokenizerException($"{file}: model.vocab[{i}] of the Unigram model is not a [piece, score] pair");
                    pieces.Add((entry[0].GetString()!, SerdeFloat.Parse(entry[1].GetRawText())));
                    i++;
                }
                int? unk = Opt(m, "unk_id") is { ValueKind: JsonValueKind.Number } u ? Id(u, "model.unk_id") : null;
                return new UnigramModel(pieces, unk, Bool(m, "byte_fallback", false), file);
            }
            default:
                throw Unknown("model", type, "BPE, WordPiece, WordLevel, Unigram");
        }
    }

    Dictionary<string, int> VocabObject(JsonElement m, string kind)
    {
        if (Opt(m, "vocab") is not { ValueKind: JsonValueKind.Object } v) throw new TokenizerException($"{file}: model.vocab of the {kind} model must be an object of token → id");
        var dict = new Dictionary<string, int>();
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || id < 0 || id > Tokenizer.MaxTokenId)
                throw new TokenizerException($"{file}: model.vocab[\"{(p.Name.Length > 40 ? p.Name[..40] + "…" : p.Name)}\"] is not a token id (an integer from 0 to {Tokenizer.MaxTokenId:N0})");
            dict[p.Name] = id;
        }
        return dict;
    }

    List<(string, string)> Merges(JsonElement m)
    {
        var list = new List<(string, string)>();
        if (Opt(m, "merges") is not { ValueKind: JsonValueKind.Array } arr) return list;
        int i = 0;
        foreach (var e in arr.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String) list.Add(SplitMerge(e.GetString()!, $"model.merges[{i}]", file));
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2 && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String)
                list.Add((e[0].GetString()!, e[1].GetString()!));
            else throw new TokenizerException($"{file}: model.merges[{i}] is neither \"a b\" nor [\"a\", \"b\"]");
            i++;
        }
        return list;
    }

    public static (string, string) SplitMerge(string line, string where, string file)
    {
        var parts = line.Split(' ');
        if (parts.Length != 2) throw new TokenizerException($"{file}: {where} \"{line}\" is not two tokens separated by one space");
        return (parts[0], parts[1]);
    }

    // ---------- normalizers ----------

    INormalizer Normalizer(JsonElement n, string where)
    {
        var type = Type(n, where);
        switch (type)
        {
            case "Sequence":
                return new SequenceNormalizer(Items(n, "normalizers", where).Select((e, i) => Normalizer(e, $"{where}.normalizers[{i}]")).ToList());
            case "BertNormalizer":
                return new BertNormalizer(Bool(n, "clean_text", true), Bool(n, "handle_chinese_chars", true),
                    Opt(n, "strip_accents") is { } sa && sa.ValueKind is JsonValueKind.True or JsonValueKind.False ? sa.GetBoolean() : null,
                    Bool(n, "lowercase", true));
            case "NFC": return new UnicodeNormalizer(false, true);
            case "NFD": return new UnicodeNormalizer(false, false);
            case "NFKC": return new UnicodeNormalizer(true, true);
            case "NFKD": return new UnicodeNormalizer(true, false);
            case "Lowercase": return new LowercaseNormalizer();
            case "StripAccents": return new StripAccentsNormalizer();
            case "Strip": return new StripNormalizer(Bool(n, "strip_left", true), Bool(n, "strip_right", true));
            case "Prepend": return new PrependNormalizer(Str(n, "prepend") ?? throw new TokenizerException($"{file}: {where} (Prepend) has no \"prepend\""));
            case "Replace":
            {
                var (lit, re) = Pattern(n, where);
                return new ReplaceNormalizer(lit, re, Str(n, "content") ?? "");
            }
            case "Precompiled":
            {
                var b64 = Str(n, "precompiled_charsmap");
                byte[] bytes;
                try { bytes = b64 == null ? [] : Convert.FromBase64String(b64); }
                catch (FormatException) { throw new TokenizerException($"{file}: {where}.precompiled_charsmap is not valid base64"); }
                return new PrecompiledNormalizer(bytes, file);
            }
            default:
                throw Unknown(where, type, "Sequence, BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, Precompiled");
        }
    }

    IEnumerable<JsonElement> Items(JsonElement e, string name, string where) =>
        Opt(e, name) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().ToList() : throw new TokenizerException($"{file}: {where} has no \"{name}\" list");

    (string? Literal, Regex? Regex) Pattern(JsonElement e, string where)
    {
        if (Opt(e, "pattern") is not { ValueKind: JsonValueKind.Object } p) throw new TokenizerException($"{file}: {where} has no \"pattern\"");
        if (Str(p, "String") is { } s) return (s, null);
        if (Str(p, "Regex") is { } r)
        {
            try { return (null, new Regex(r, RegexOptions.CultureInvariant | RegexOptions.Compiled, Tokenizer.RegexTimeout)); }
            catch (ArgumentException ex) { throw new TokenizerException($"{file}: {where}.pattern.Regex \"{r}\" is not a regex .NET can read ({ex.Message})"); }
        }
        throw new TokenizerException($"{file}: {where}.pattern must be {{\"String\": …}} or {{\"Regex\": …}}");
    }

    // ---------- pre-tokenizers ----------

    IPreTokenizer PreTokenizer(JsonElement p, string where)
    {
        var type = Type(p, where);
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer(Items(p, "pretokenizers", where).Select((e, i) => PreTokenizer(e, $"{where}.pretokenizers[{i}]")).ToList());
            case "ByteLevel": return new ByteLevelPreTokenizer(Bool(p, "add_prefix_space", true), Bool(p, "use_regex", true));
            case "BertPreTokenizer": return new BertPreTokenizer();
            case "Whitespace": return new WhitespacePreTokenizer();
            case "WhitespaceSplit": return new WhitespaceSplitPreTokenizer();
            case "Metaspace":
                return new MetaspacePreTokenizer(Replacement(p, where), PrependScheme(p), Bool(p, "split", true));
            case "Split":
            {
                var (lit, re) = Pattern(p, where);
                return new SplitPreTokenizer(lit, re, Behavior(p, where, SplitBehavior.Removed), Bool(p, "invert", false));
            }
            case "Punctuation": return new PunctuationPreTokenizer(Behavior(p, where, SplitBehavior.Isolated));
            case "Digits": return new DigitsPreTokenizer(Bool(p, "individual_digits", false));
            case "CharDelimiterSplit":
            {
                var d = Str(p, "delimiter");
                if (string.IsNullOrEmpty(d)) throw new TokenizerException($"{file}: {where} (CharDelimiterSplit) has no \"delimiter\"");
                return new CharDelimiterPreTokenizer(char.ConvertToUtf32(d, 0));
            }
            default:
                throw Unknown(where, type, "Sequence, ByteLevel, BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, Split, Punctuation, Digits, CharDelimiterSplit");
        }
    }

    char Replacement(JsonElement p, string where)
    {
        var r = Str(p, "replacement") ?? "\u2581";
        if (r.Length != 1) throw new TokenizerException($"{file}: {where}.replacement must be one character");
        return r[0];
    }

    static string PrependScheme(JsonElement p)
    {
        if (Str(p, "prepend_scheme") is { } s) return s.ToLowerInvariant();
        return Bool(p, "add_prefix_space", true) ? "always" : "never";
    }

    SplitBehavior Behavior(JsonElement p, string where, SplitBehavior fallback)
    {
        var b = Str(p, "behavior");
        if (b == null) return fallback;
        return b switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            _ => throw new TokenizerException($"{file}: {where}.behavior \"{b}\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous"),
        };
    }

    // ---------- post-processors ----------

    public IPostProcessor PostProcessor(JsonElement p, string where)
    {
        var type = Type(p, where);
        switch (type)
        {
            case "Sequence":
                return new SequenceProcessor(Items(p, "processors", where).Select((e, i) => PostProcessor(e, $"{where}.processors[{i}]")).ToList());
            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, (int[], string[])>();
                if (Opt(p, "special_tokens") is { ValueKind: JsonValueKind.Object } st)
                    foreach (var s in st.EnumerateObject())
                    {
                        var ids = Opt(s.Value, "ids") is { ValueKind: JsonValueKind.Array } ia ? ia.EnumerateArray().Select(x => Id(x, $"{where}.special_tokens[\"{s.Name}\"].ids")).ToArray() : [];
                        var toks = Opt(s.Value, "tokens") is { ValueKind: JsonValueKind.Array } ta ? ta.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
                        if (ids.Length != toks.Length) throw new TokenizerException($"{file}: {where}.special_tokens[\"{s.Name}\"] has {ids.Length} ids but {toks.Length} tokens");
                        specials[s.Name] = (ids, toks);
                    }
                var single = new List<(int[] Ids, string[] Tokens)?>();
                foreach (var item in Items(p, "single", where))
                {
                    if (Opt(item, "SpecialToken") is { } sp)
                    {
                        var id = Str(sp, "id") ?? "";
                        if (!specials.TryGetValue(id, out var entry)) throw new TokenizerException($"{file}: {where}.single uses special token \"{id}\" that special_tokens does not define");
                        single.Add(entry);
                    }
                    else if (Opt(item, "Sequence") != null) single.Add(null);
                    else throw new TokenizerException($"{file}: {where}.single has an entry that is neither SpecialToken nor Sequence");
                }
                return new TemplateProcessor(single);
            }
            case "BertProcessing":
                return new TrimOffsetsProcessor(false, false, Pair(p, "cls", where), Pair(p, "sep", where));
            case "RobertaProcessing":
                return new TrimOffsetsProcessor(Bool(p, "trim_offsets", true), Bool(p, "add_prefix_space", true), Pair(p, "cls", where), Pair(p, "sep", where));
            case "ByteLevel":
                return new TrimOffsetsProcessor(Bool(p, "trim_offsets", true), Bool(p, "add_prefix_space", true), null, null);
            default:
                throw Unknown(where, type, "Sequence, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel");
        }
    }

    (int, string) Pair(JsonElement p, string name, string where)
    {
        if (Opt(p, name) is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() == 2 && a[0].ValueKind == JsonValueKind.String && a[1].ValueKind == JsonValueKind.Number)
            return (Id(a[1], $"{where}.{name}[1]"), a[0].GetString()!);
        throw new TokenizerException($"{file}: {where}.{name} must be [token, id]");
    }

    // ---------- decoders ----------

    IDecoder Decoder(JsonElement d, string where)
    {
        var type = Type(d, where);
        switch (type)
        {
            case "Sequence":
                return new SequenceDecoder(Items(d, "decoders", where).Select((e, i) => Decoder(e, $"{where}.decoders[{i}]")).ToList());
            case "ByteLevel": return new ByteLevelDecoder();
            case "WordPiece": return new WordPieceDecoder(Str(d, "prefix") ?? "##", Bool(d, "cleanup", true));
            case "Metaspace": return new MetaspaceDecoder(Replacement(d, where), PrependScheme(d) != "never");
            case "BPEDecoder": return new BpeSuffixDecoder(Str(d, "suffix") ?? "</w>");
            case "Replace":
            {
                var (lit, re) = Pattern(d, where);
                if (lit == null) throw new TokenizerException($"{file}: {where} (Replace decoder) supports only a String pattern");
                return new ReplaceDecoder(lit, Str(d, "content") ?? "");
            }
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
            {
                var c = Str(d, "content") ?? " ";
                return new StripDecoder(c.Length > 0 ? c[0] : ' ', Int(d, "start", 0), Int(d, "stop", 0));
            }
            case "CTC": return new CtcDecoder(Str(d, "pad_token") ?? "<pad>", Str(d, "word_delimiter_token") ?? "|", Bool(d, "cleanup", true));
            default:
                throw Unknown(where, type, "Sequence, ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip, CTC");
        }
    }
}
