using System.Text.RegularExpressions;
using ModelVis.Tokenizers.Models;
using ModelVis.Tokenizers.Normalizers;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers;

/// <summary>
/// The tokenizer a GGUF file carries in its <c>tokenizer.ggml.*</c> metadata, built from the same pipeline parts as a
/// tokenizer.json, so it keeps the same offsets contract (UTF-16 spans of every token in the input). It follows what
/// llama.cpp (llama-vocab.cpp) does with these keys:
/// <list type="bullet">
/// <item><c>llama</c>: SentencePiece BPE over scores (<see cref="SentencePieceBpeModel"/>); spaces become ▁ and, with
/// <c>add_space_prefix</c> (default true), a ▁ is put in front of every stretch of text that starts the input or follows
/// a special token; characters outside the vocabulary become &lt;0xNN&gt; byte tokens; BOS in front when
/// <c>add_bos_token</c> (default true).</item>
/// <item><c>gpt2</c>: byte-level BPE with the merges ranked by their order, after the split pattern named by
/// <c>tokenizer.ggml.pre</c>; Llama 3's (<c>llama-bpe</c>) keeps a whole word that is already a token (ignore_merges).</item>
/// </list>
/// Tokens of type control, unknown and user-defined are matched in the raw text before anything else, as Hugging Face
/// does with added tokens and llama.cpp with parse_special = true (with parse_special = false llama.cpp would read a
/// typed "&lt;s&gt;" as text; Encode has no such switch, like the tokenizer.json path). Decoding follows the matching
/// tokenizer.json decoders (an unknown token decodes to its text, where llama.cpp's token_to_piece shows ▅; no
/// clean-up of spaces before punctuation). Per-model token attributes llama.cpp sets by name (lstrip on a few
/// models' &lt;mask&gt;) are not applied. The metadata is what
/// ModelVis.Checkpoints' GgufFile.Metadata gives: integers as long or ulong, floats as double, strings, bools, arrays as object[].
/// </summary>
public static class GgufTokenizer
{
    const string Prefix = "tokenizer.ggml.";
    const char Metaspace = '\u2581';

    // llama_token_type in llama.cpp (and gguf-py's TokenType).
    const int TypeNormal = 1, TypeUnknown = 2, TypeControl = 3, TypeUserDefined = 4;

    /// <summary>Builds the tokenizer of a GGUF file from its metadata; <paramref name="fileName"/> names it in errors.</summary>
    public static Tokenizer FromMetadata(IReadOnlyDictionary<string, object> metadata, string fileName)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var m = new Meta(metadata, fileName);
        var model = m.String("model");
        var tokens = m.Strings("tokens");
        if (tokens.Length == 0) throw new TokenizerException($"{fileName}: metadata `{Prefix}tokens` is empty");
        var types = m.Has("token_type") ? m.Ints("token_type") : Enumerable.Repeat(TypeNormal, tokens.Length).ToArray();
        if (types.Length != tokens.Length)
            throw new TokenizerException($"{fileName}: metadata `{Prefix}token_type` has {types.Length} entries for {tokens.Length} tokens");
        var added = new List<AddedToken>();
        for (int id = 0; id < tokens.Length; id++)
            if (types[id] is TypeControl or TypeUnknown or TypeUserDefined && tokens[id].Length > 0)
                added.Add(new AddedToken(id, tokens[id], false, false, false, Normalized: false, Special: types[id] != TypeUserDefined));

        Tokenizer.Parts parts;
        int? bos, eos, unk, pad;
        switch (model)
        {
            case "llama":
            {
                var scores = m.Floats("scores");
                if (scores.Length != tokens.Length)
                    throw new TokenizerException($"{fileName}: metadata `{Prefix}scores` has {scores.Length} entries for {tokens.Length} tokens");
                // llama.cpp's defaults for a SentencePiece vocabulary.
                bos = m.OptionalId("bos_token_id", tokens.Length) ?? 1;
                eos = m.OptionalId("eos_token_id", tokens.Length) ?? 2;
                unk = m.OptionalId("unknown_token_id", tokens.Length) ?? 0;
                pad = m.OptionalId("padding_token_id", tokens.Length);
                bool spacePrefix = m.OptionalBool("add_space_prefix") ?? true;
                var space = new ReplaceNormalizer(" ", null, Metaspace.ToString());
                // Prepend runs on each stretch of text between special tokens, which is where llama.cpp adds its space.
                INormalizer normalizer = spacePrefix ? new SequenceNormalizer([new PrependNormalizer(Metaspace.ToString()), space]) : space;
                var decoders = new List<IDecoder> { new ReplaceDecoder(Metaspace.ToString(), " "), new ByteFallbackDecoder(), new FuseDecoder() };
                // llama.cpp drops the leading space of the detokenized text when it added one.
                if (spacePrefix) decoders.Add(new StripDecoder(' ', 1, 0));
                parts = new Tokenizer.Parts(new SentencePieceBpeModel(tokens, scores, unk.Value, fileName), normalizer, null,
                    Template(m, tokens, bos, eos, addBosDefault: true), new SequenceDecoder(decoders), added, fileName);
                break;
            }
            case "gpt2":
            {
                var merges = m.Strings("merges");
                var pre = m.Has("pre") ? m.String("pre") : "default"; // llama.cpp falls back to "default" when the key is missing
                var (preTokenizer, ignoreMerges) = PreTokenizerFor(pre, fileName);
                var vocab = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
                for (int id = 0; id < tokens.Length; id++) vocab[tokens[id]] = id;
                var mergePairs = new List<(string, string)>(merges.Length);
                for (int i = 0; i < merges.Length; i++) mergePairs.Add(SplitMerge(merges[i], i, fileName));
                bos = m.OptionalId("bos_token_id", tokens.Length);
                eos = m.OptionalId("eos_token_id", tokens.Length);
                unk = m.OptionalId("unknown_token_id", tokens.Length);
                pad = m.OptionalId("padding_token_id", tokens.Length);
                var bpe = new BpeModel(vocab, mergePairs, null, null, null, false, false, ignoreMerges, fileName);
                // llama.cpp adds BOS by default only for Llama 3's pre-tokenizer.
                parts = new Tokenizer.Parts(bpe, null, preTokenizer, Template(m, tokens, bos, eos, addBosDefault: ignoreMerges),
                    new ByteLevelDecoder(), added, fileName);
                break;
            }
            default:
                throw new TokenizerException($"{fileName}: metadata `{Prefix}model` is \"{model}\"; supported: llama (SentencePiece), gpt2 (byte-level BPE)");
        }
        var tokenizer = new Tokenizer(parts);
        tokenizer.SetSpecialTokenIds(bos, eos, pad, unk);
        return tokenizer;
    }

    // Split patterns of llama.cpp's pre-tokenizer types (llama-vocab.cpp), in .NET syntax.
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    const string Llama3Pattern = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Qwen2Pattern = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly Dictionary<string, string> PreAliases = new(StringComparer.Ordinal)
    {
        ["default"] = "default",
        ["gpt-2"] = "gpt-2", ["gpt2"] = "gpt-2",
        ["llama-bpe"] = "llama3", ["llama3"] = "llama3", ["llama-v3"] = "llama3",
        ["qwen2"] = "qwen2", ["deepseek-r1-qwen"] = "qwen2",
    };

    static (IPreTokenizer, bool IgnoreMerges) PreTokenizerFor(string pre, string file)
    {
        static IPreTokenizer Split(string pattern) =>
            new SplitPreTokenizer(null, new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, Tokenizer.RegexTimeout), SplitBehavior.Isolated, false);
        if (!PreAliases.TryGetValue(pre, out var kind))
            throw new TokenizerException($"{file}: metadata `{Prefix}pre` is \"{pre}\", a pre-tokenizer ModelVis does not know (known: {string.Join(", ", PreAliases.Keys)})");
        return kind switch
        {
            "gpt-2" => (new ByteLevelPreTokenizer(false, true), false),
            // llama.cpp's default applies four patterns in turn, each splitting the pieces the previous one left.
            "default" => (new SequencePreTokenizer([
                Split(@"[\p{P}\$\+<=>\^~\|]+"), new ByteLevelPreTokenizer(false, true), Split(@"\p{N}+"), Split("[0-9][0-9][0-9]")]), false),
            "llama3" => (new SequencePreTokenizer([Split(Llama3Pattern), new ByteLevelPreTokenizer(false, false)]), true),
            "qwen2" => (new SequencePreTokenizer([Split(Qwen2Pattern), new ByteLevelPreTokenizer(false, false)]), false),
            _ => throw new InvalidOperationException(kind),
        };
    }

    /// <summary>"a b" → (a, b), split at the first space after the first character as llama.cpp does.</summary>
    static (string, string) SplitMerge(string merge, int index, string file)
    {
        int space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
        if (space < 0) throw new TokenizerException($"{file}: metadata `{Prefix}merges`[{index}] \"{merge}\" is not two tokens separated by a space");
        return (merge[..space], merge[(space + 1)..]);
    }

    static TemplateProcessor? Template(Meta m, string[] tokens, int? bos, int? eos, bool addBosDefault)
    {
        bool addBos = m.OptionalBool("add_bos_token") ?? addBosDefault, addEos = m.OptionalBool("add_eos_token") ?? false;
        var single = new List<(int[] Ids, string[] Tokens)?>();
        if (addBos)
        {
            if (bos is not { } b) throw new TokenizerException($"{m.File}: metadata `{Prefix}add_bos_token` is true but `{Prefix}bos_token_id` is missing");
            single.Add(([b], [tokens[b]]));
        }
        single.Add(null);
        if (addEos)
        {
            if (eos is not { } e) throw new TokenizerException($"{m.File}: metadata `{Prefix}add_eos_token` is true but `{Prefix}eos_token_id` is missing");
            single.Add(([e], [tokens[e]]));
        }
        return single.Count == 1 ? null : new TemplateProcessor(single);
    }

    /// <summary>Typed access to the <c>tokenizer.ggml.*</c> keys; every error names the file and the key.</summary>
    sealed class Meta(IReadOnlyDictionary<string, object> metadata, string file)
    {
        public string File => file;

        public bool Has(string key) => metadata.ContainsKey(Prefix + key);

        object Get(string key) => metadata.TryGetValue(Prefix + key, out var v)
            ? v : throw new TokenizerException($"{file}: metadata `{Prefix}{key}` is missing (the GGUF file's tokenizer is incomplete)");

        TokenizerException Wrong(string key, string expected, object value) =>
            new($"{file}: metadata `{Prefix}{key}` should be {expected} but is {Describe(value)}");

        static string Describe(object v) => v is object[] a ? $"an array of {a.Length}" : $"{v.GetType().Name} {v}";

        public string String(string key) => Get(key) as string ?? throw Wrong(key, "a string", Get(key));

        public bool? OptionalBool(string key) =>
            !metadata.TryGetValue(Prefix + key, out var v) ? null : v as bool? ?? throw Wrong(key, "a bool", v);

        public int? OptionalId(string key, int vocabSize)
        {
            if (!metadata.TryGetValue(Prefix + key, out var v)) return null;
            long id = v switch { long l => l, ulong u when u <= long.MaxValue => (long)u, _ => throw Wrong(key, "an integer", v) };
            // llama.cpp writes −1 (as an unsigned 0xFFFFFFFF) for "none".
            if (id == -1 || id == uint.MaxValue) return null;
            if (id < 0 || id >= vocabSize) throw new TokenizerException($"{file}: metadata `{Prefix}{key}` is {id}, outside the {vocabSize} tokens");
            return (int)id;
        }

        object[] Array(string key) => Get(key) as object[] ?? throw Wrong(key, "an array", Get(key));

        public string[] Strings(string key)
        {
            var a = Array(key);
            var r = new string[a.Length];
            for (int i = 0; i < a.Length; i++) r[i] = a[i] as string ?? throw Wrong($"{key}[{i}]", "a string", a[i]);
            return r;
        }

        public float[] Floats(string key)
        {
            var a = Array(key);
            var r = new float[a.Length];
            for (int i = 0; i < a.Length; i++)
                r[i] = a[i] switch { double d => (float)d, long l => l, ulong u => u, _ => throw Wrong($"{key}[{i}]", "a number", a[i]) };
            return r;
        }

        public int[] Ints(string key)
        {
            var a = Array(key);
            var r = new int[a.Length];
            for (int i = 0; i < a.Length; i++)
                r[i] = a[i] switch { long l and >= int.MinValue and <= int.MaxValue => (int)l, ulong u and <= int.MaxValue => (int)u, _ => throw Wrong($"{key}[{i}]", "an integer", a[i]) };
            return r;
        }
    }
}
