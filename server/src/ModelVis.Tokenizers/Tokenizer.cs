using System.Text.RegularExpressions;
using ModelVis.Tokenizers.Models;
using ModelVis.Tokenizers.Normalizers;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers;

/// <summary>
/// A Hugging Face tokenizer read from tokenizer.json (or the older vocab.json + merges.txt / vocab.txt layouts):
/// added tokens → normalizer → pre-tokenizer → model → post-processor, each token keeping its span in the input.
/// Thread-safe: Encode and Decode may be called concurrently.
/// </summary>
public sealed class Tokenizer
{
    internal sealed record Parts(TokenizerModel Model, INormalizer? Normalizer, IPreTokenizer? PreTokenizer, IPostProcessor? PostProcessor,
        IDecoder? Decoder, List<AddedToken> AddedTokens, string Source);

    readonly TokenizerModel _model;
    readonly INormalizer? _normalizer;
    readonly IPreTokenizer? _preTokenizer;
    IPostProcessor? _postProcessor;
    readonly IDecoder? _decoder;
    readonly AddedTokenMatcher _rawMatcher, _normalizedMatcher;
    readonly Dictionary<int, AddedToken> _addedById = new();
    readonly Dictionary<string, AddedToken> _addedByContent = new();

    /// <summary>The file (or folder) this tokenizer was read from.</summary>
    public string Source { get; }
    /// <summary>"BPE", "WordPiece", "Unigram" or "WordLevel".</summary>
    public string ModelType => _model.Type;
    /// <summary>True when the pre-tokenizer works on UTF-8 bytes shown as GPT-2 symbols (Ġ for a space).</summary>
    public bool IsByteLevel { get; }
    public int? BosTokenId { get; private set; }
    public int? EosTokenId { get; private set; }
    public int? PadTokenId { get; private set; }
    public int? UnkTokenId { get; private set; }

    internal Tokenizer(Parts parts)
    {
        _model = parts.Model; _normalizer = parts.Normalizer; _preTokenizer = parts.PreTokenizer;
        _postProcessor = parts.PostProcessor; _decoder = parts.Decoder; Source = parts.Source;
        foreach (var t in parts.AddedTokens)
        {
            _addedById[t.Id] = t;
            _addedByContent[t.Content] = t;
        }
        // As in HF: first the tokens matched in the raw text, then (per remaining segment, after normalization) the others.
        _rawMatcher = new AddedTokenMatcher(parts.AddedTokens.Where(t => !t.Normalized));
        _normalizedMatcher = new AddedTokenMatcher(parts.AddedTokens.Where(t => t.Normalized));
        IsByteLevel = parts.PreTokenizer is ByteLevelPreTokenizer || (parts.PreTokenizer is SequencePreTokenizer && parts.Decoder is ByteLevelDecoder)
            || parts.Decoder is ByteLevelDecoder;
        if (_model.UnkToken is { } unk) UnkTokenId = TokenToId(unk);
        GuessSpecialTokens();
    }

    /// <summary>Reads tokenizer.json (and, beside it, tokenizer_config.json when present).</summary>
    public static Tokenizer FromJson(string tokenizerJsonPath)
    {
        if (!File.Exists(tokenizerJsonPath)) throw new TokenizerException($"{tokenizerJsonPath}: file not found");
        return new Tokenizer(TokenizerJson.Read(tokenizerJsonPath));
    }

    /// <summary>A tokenizer.json held in memory (one a trainer has just written); <paramref name="source"/> names it in errors.</summary>
    public static Tokenizer FromJson(byte[] tokenizerJson, string source) => new(TokenizerJson.Read(tokenizerJson, source));

    /// <summary>
    /// Reads a model folder: tokenizer.json (+ tokenizer_config.json), else GPT-2's vocab.json + merges.txt, else BERT's vocab.txt,
    /// else a tiktoken vocabulary (encoded by Microsoft.ML.Tokenizers, see <see cref="Tiktoken"/>).
    /// </summary>
    public static Tokenizer FromFolder(string dir)
    {
        if (!Directory.Exists(dir)) throw new TokenizerException($"{dir}: folder not found");
        var config = TokenizerConfig.Read(Path.Combine(dir, "tokenizer_config.json"));
        Tokenizer tokenizer;
        var json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json)) tokenizer = new Tokenizer(TokenizerJson.Read(json));
        else if (File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt")))
            tokenizer = new Tokenizer(LegacyFormats.Gpt2(dir, config));
        else if (File.Exists(Path.Combine(dir, "vocab.txt")))
            tokenizer = new Tokenizer(LegacyFormats.Bert(dir, config));
        else if (Tiktoken.Find(dir) is { } tiktoken)
            tokenizer = new Tokenizer(Tiktoken.Read(tiktoken));
        else throw new TokenizerException($"{dir}: no tokenizer.json, vocab.json + merges.txt, vocab.txt, or tiktoken file (*.tiktoken, tiktoken-format tokenizer.model) in this folder");
        tokenizer.ApplyConfig(config);
        return tokenizer;
    }

    public int VocabSize
    {
        get
        {
            int max = _model.VocabSize;
            foreach (var id in _addedById.Keys) max = Math.Max(max, id + 1);
            return max;
        }
    }

    public string? IdToToken(int id) => _addedById.TryGetValue(id, out var t) ? t.Content : _model.IdToToken(id);
    public int? TokenToId(string token) => _addedByContent.TryGetValue(token, out var t) ? t.Id : _model.TokenToId(token);

    /// <summary>
    /// The id of one token named by a person: its vocabulary entry as stored ("Ġthe", "▁the"), else text that
    /// encodes to exactly one token (" the"; for a tokenizer that adds the word's leading space itself, as
    /// SentencePiece does, " the" and "the" both name ▁the); anything else is an error that shows how the text splits.
    /// </summary>
    public int SingleTokenId(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TokenToId(text) is { } id) return id;
        var encoded = Encode(text, addSpecialTokens: false, maxTokens: 64);
        if (encoded.Count == 1) return encoded.Ids[0];
        if (text.StartsWith(' ') && Encode(text[1..], addSpecialTokens: false, maxTokens: 64) is { Count: 1 } unspaced
            && IdToToken(unspaced.Ids[0]) is { } t && !t.Equals(text[1..], StringComparison.Ordinal)) return unspaced.Ids[0];
        if (encoded.Count == 0) throw new TokenizerException($"\"{text}\" gives no tokens");
        throw new TokenizerException($"\"{text}\" is {encoded.Count}{(encoded.Truncated ? "+" : "")} tokens ({string.Join(" ", encoded.Tokens.Take(8).Select(t => $"\"{t}\""))}{(encoded.Count > 8 ? " …" : "")}), not one; give a single token or its vocabulary entry");
    }

    /// <summary>A token string made readable for display (Ġ → space, ▁ → space, ## dropped, &lt;0x0A&gt; → newline).</summary>
    public string Readable(string token) => TokenDisplay.Readable(token, ModelType, IsByteLevel);

    /// <summary>Tokenizer files (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json) larger than this are refused unread.</summary>
    public const long MaxFileBytes = 64L << 20;
    /// <summary>The largest token id read from a file: ids index arrays, and real vocabularies stop near 262,000.</summary>
    public const int MaxTokenId = (1 << 24) - 1;
    /// <summary>
    /// How long one match of a regex from a tokenizer file may run. .NET's regexes backtrack, so a pattern such as
    /// <c>(a+)+$</c> runs for minutes on 41 characters; with the timeout it ends in an error naming the pattern.
    /// </summary>
    public static TimeSpan RegexTimeout { get; internal set; } = TimeSpan.FromSeconds(1);

    public TokenizedText Encode(string text, bool addSpecialTokens = true) => Encode(text, addSpecialTokens, int.MaxValue);

    /// <summary>
    /// Tokenizes at most about <paramref name="maxTokens"/> tokens: past that the text is not looked at, and the result
    /// has <see cref="TokenizedText.Truncated"/> set and more than <paramref name="maxTokens"/> tokens (the first ones
    /// past the bound, then the post-processor's). A 30 MB selection checked against a 512-token limit costs what 513
    /// tokens cost, not what 30 MB does.
    /// </summary>
    public TokenizedText Encode(string text, bool addSpecialTokens, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        bool truncated = false;
        // Normalizers and pre-tokenizers see whole segments, so the text itself is cut first: no token covers more
        // original characters than the longest vocabulary entry (bytes, or ▁ for a space), plus what a normalizer drops.
        long keepChars = Math.Min((long)text.Length, ((long)maxTokens + 2) * (_model.MaxTokenLength + 8) + 1024);
        if (keepChars < text.Length)
        {
            if (keepChars > 0 && char.IsHighSurrogate(text[(int)keepChars - 1])) keepChars--;
            text = text[..(int)keepChars];
            truncated = true;
        }
        var encoding = new EncodingBuilder();
        var modelTokens = new List<ModelToken>();
        bool Full() => encoding.Ids.Count > maxTokens;
        Split(text, piece =>
        {
            modelTokens.Clear();
            _model.Tokenize(piece, modelTokens);
            foreach (var t in modelTokens) encoding.Add(t.Id, t.Value, piece.ToOriginal(t.Start, t.End), false);
        }, (token, slice) => AddAdded(encoding, token, slice), Full);
        truncated |= Full();
        _postProcessor?.Process(encoding, addSpecialTokens);
        var result = encoding.Build();
        return truncated ? result with { Truncated = true } : result;
    }

    /// <summary>
    /// The words the model is given for <paramref name="text"/>: added tokens taken out, then normalization and
    /// pre-tokenization; byte-level words are written in the byte alphabet, as the vocabulary holds them. What a
    /// BPE trainer counts pairs in (HF's pre_tokenize_str, byte-mapped).
    /// </summary>
    public List<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        Split(text, piece => words.Add(piece.ByteLevel ? ByteLevelAlphabet.Map(piece.Span) : piece.Text), (_, _) => { }, () => false);
        return words;
    }

    /// <summary>
    /// Added tokens matched in the raw text, then per remaining segment normalization, the normalized added tokens, and
    /// pre-tokenization; stops early when <paramref name="stop"/> says enough.
    /// </summary>
    void Split(string text, Action<NormalizedString> piece, Action<AddedToken, NormalizedString> added, Func<bool> stop)
    {
        var pieces = new List<NormalizedString>();
        var raw = NormalizedString.FromOriginal(text, 0, text.Length);
        try
        {
            foreach (var (start, end, token) in SplitAdded(_rawMatcher, raw))
            {
                if (stop()) break;
                var segment = raw.Slice(start, end - start);
                if (token != null) { added(token, segment); continue; }
                if (_normalizer != null) segment = _normalizer.Normalize(segment);
                foreach (var (s2, e2, token2) in SplitAdded(_normalizedMatcher, segment))
                {
                    if (stop()) break;
                    var sub = segment.Slice(s2, e2 - s2);
                    if (token2 != null) { added(token2, sub); continue; }
                    pieces.Clear();
                    if (_preTokenizer != null) _preTokenizer.PreTokenize(sub, pieces);
                    else if (sub.Length > 0) pieces.Add(sub);
                    foreach (var p in pieces)
                    {
                        if (stop()) break;
                        piece(p);
                    }
                }
            }
        }
        catch (RegexMatchTimeoutException e)
        {
            throw new TokenizerException($"{Path.GetFileName(Source)}: the regex `{(e.Pattern.Length > 80 ? e.Pattern[..80] + "…" : e.Pattern)}` ran longer than {RegexTimeout.TotalSeconds:0.#} s on this text (catastrophic backtracking); this tokenizer file cannot be used safely", e);
        }
    }

    static List<(int, int, AddedToken?)> SplitAdded(AddedTokenMatcher matcher, NormalizedString text) =>
        matcher.IsEmpty ? (text.Length == 0 ? [] : [(0, text.Length, null)]) : matcher.Split(text.Span);

    static void AddAdded(EncodingBuilder encoding, AddedToken token, NormalizedString slice) =>
        encoding.Add(token.Id, slice.Text, slice.ToOriginal(0, slice.Length), token.Special);

    /// <summary>Text from ids; special added tokens are dropped when <paramref name="skipSpecialTokens"/>.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        var tokens = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special)) tokens.Add(added.Content);
            }
            else if (_model.IdToToken(id) is { } t) tokens.Add(t);
        }
        return _decoder == null ? string.Join(" ", tokens) : string.Concat(_decoder.DecodeChain(tokens));
    }

    void GuessSpecialTokens()
    {
        int? Find(params string[] names)
        {
            foreach (var n in names) if (_addedByContent.TryGetValue(n, out var t)) return t.Id;
            return null;
        }
        BosTokenId = Find("<s>", "<|begin_of_text|>", "<bos>", "[CLS]", "<|endoftext|>", "<|startoftext|>");
        EosTokenId = Find("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>", "[SEP]", "<|im_end|>");
        PadTokenId = Find("<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>");
        UnkTokenId ??= Find("<unk>", "[UNK]", "<|unk|>");
    }

    /// <summary>Special token ids a file states outright (GGUF metadata), replacing the ones guessed from the token names.</summary>
    internal void SetSpecialTokenIds(int? bos, int? eos, int? pad, int? unk)
    {
        BosTokenId = bos; EosTokenId = eos; PadTokenId = pad; UnkTokenId = unk;
    }

    void ApplyConfig(TokenizerConfig config)
    {
        if (config.Bos is { } bos && TokenToId(bos) is { } b) BosTokenId = b;
        if (config.Eos is { } eos && TokenToId(eos) is { } e) EosTokenId = e;
        if (config.Pad is { } pad && TokenToId(pad) is { } p) PadTokenId = p;
        if (config.Unk is { } unk && TokenToId(unk) is { } u) UnkTokenId = u;
        // transformers' Llama/Gemma fast tokenizers rebuild their template from add_bos_token / add_eos_token.
        if (config.RebuildsTemplate && (config.AddBos != null || config.AddEos != null))
        {
            var single = new List<(int[] Ids, string[] Tokens)?>();
            if (config.AddBos == true && BosTokenId is { } bid) single.Add(([bid], [IdToToken(bid)!]));
            single.Add(null);
            if (config.AddEos == true && EosTokenId is { } eid) single.Add(([eid], [IdToToken(eid)!]));
            _postProcessor = new TemplateProcessor(single);
        }
    }
}
