using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelVis.Training.Tokenizer;

/// <summary>
/// A byte-level BPE tokenizer as GPT-2 and Hugging Face <c>tokenizers</c> define it: text is split by the
/// GPT-2 pre-tokenizer pattern, each piece's UTF-8 bytes are mapped to printable characters (bytes_to_unicode),
/// and merges are applied lowest rank first. Ids 0–255 are the single bytes (in byte order), then one id
/// per merge, then the special end-of-text token. <see cref="Train"/> learns the merges from a corpus.
/// </summary>
public sealed partial class ByteLevelBpe
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The pattern of HF's ByteLevel pre-tokenizer (use_regex: true), identical to GPT-2's.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex PreTokenizer();

    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    readonly Dictionary<(string, string), int> _mergeRank = new();
    readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    readonly string[] _idToToken;
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public int VocabSize => _idToToken.Length;
    public int EndOfTextId { get; }

    ByteLevelBpe(List<(string, string)> merges)
    {
        Merges = merges;
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++) tokens.Add(ByteToChar[b].ToString());
        for (int i = 0; i < merges.Count; i++)
        {
            _mergeRank[merges[i]] = i;
            tokens.Add(merges[i].Item1 + merges[i].Item2);
        }
        EndOfTextId = tokens.Count;
        tokens.Add(EndOfText);
        _idToToken = tokens.ToArray();
        for (int i = 0; i < _idToToken.Length; i++) _vocab[_idToToken[i]] = i;
    }

    public string TokenText(int id) => _idToToken[id];

    /// <summary>
    /// Learns <c>vocabSize − 257</c> merges: repeatedly merges the most frequent adjacent pair within
    /// pre-tokenized words (ties: the pair whose joined text sorts first, ordinal), as HF's BpeTrainer
    /// does up to tie order. Deterministic.
    /// </summary>
    public static ByteLevelBpe Train(IEnumerable<string> texts, int vocabSize)
    {
        if (vocabSize < 257) throw new TrainingException($"a byte-level vocabulary needs at least 257 entries (256 bytes + end of text), not {vocabSize}");
        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var piece in PreTokenize(text))
                wordCounts[piece] = wordCounts.GetValueOrDefault(piece) + 1;
        // Words as symbol lists, in a stable order.
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: kv.Key.Select(ch => ch.ToString()).ToList(), Count: kv.Value)).ToList();
        var merges = new List<(string, string)>();
        // A pair whose text is already a token (reached by another merge order) is never merged again, so every id is one distinct string.
        var known = new HashSet<string>(Enumerable.Range(0, 256).Select(b => ByteToChar[b].ToString()), StringComparer.Ordinal);
        int wanted = vocabSize - 257;
        while (merges.Count < wanted)
        {
            var pairCounts = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + count;
                }
            KeyValuePair<(string, string), long>? found = null;
            foreach (var kv in pairCounts)
            {
                if (known.Contains(kv.Key.Item1 + kv.Key.Item2)) continue;
                if (found is not { } best) { found = kv; continue; }
                if (kv.Value > best.Value) found = kv;
                else if (kv.Value == best.Value)
                {
                    int cmp = string.CompareOrdinal(kv.Key.Item1 + "\u0001" + kv.Key.Item2, best.Key.Item1 + "\u0001" + best.Key.Item2);
                    if (cmp < 0) found = kv;
                }
            }
            if (found is not { } chosen || chosen.Value < 2) break;
            var (left, right) = chosen.Key;
            merges.Add((left, right));
            string joined = left + right;
            known.Add(joined);
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = joined;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return new ByteLevelBpe(merges);
    }

    /// <summary>Token ids of <paramref name="text"/> (no special tokens added).</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>();
        // As HF added tokens: a literal end-of-text marker in the text is the special token, not its bytes.
        int from = 0;
        for (int at; (at = text.IndexOf(EndOfText, from, StringComparison.Ordinal)) >= 0; from = at + EndOfText.Length)
        {
            EncodeOrdinary(text[from..at], ids);
            ids.Add(EndOfTextId);
        }
        EncodeOrdinary(text[from..], ids);
        return ids.ToArray();
    }

    void EncodeOrdinary(string text, List<int> ids)
    {
        foreach (var piece in PreTokenize(text))
        {
            if (!_cache.TryGetValue(piece, out var pieceIds))
            {
                pieceIds = EncodePiece(piece);
                if (_cache.Count < 100_000) _cache[piece] = pieceIds;
            }
            ids.AddRange(pieceIds);
        }
    }

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            var tok = _idToToken[id];
            if (id == EndOfTextId) { sb.Append(Encoding.UTF8.GetString(bytes.ToArray())); bytes.Clear(); sb.Append(tok); continue; }
            foreach (var ch in tok) bytes.Add(CharToByte[ch]);
        }
        sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
        return sb.ToString();
    }

    int[] EncodePiece(string piece)
    {
        var symbols = piece.Select(ch => ch.ToString()).ToList();
        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, at = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_mergeRank.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < bestRank) { bestRank = r; at = i; }
            if (at < 0) break;
            // Merge every occurrence of this pair, left to right (as HF's word.merge_all does for equal ranks).
            var (l, rr) = Merges[bestRank];
            var next = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == l && symbols[i + 1] == rr) { next.Add(l + rr); i++; }
                else next.Add(symbols[i]);
            }
            symbols = next;
        }
        return symbols.Select(s => _vocab[s]).ToArray();
    }

    /// <summary>Pre-tokenized pieces, already mapped byte-by-byte to their printable characters.</summary>
    static IEnumerable<string> PreTokenize(string text)
    {
        foreach (Match m in PreTokenizer().Matches(text))
        {
            var bytes = Encoding.UTF8.GetBytes(m.Value);
            var chars = new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
            yield return new string(chars);
        }
    }

    /// <summary>GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 upward.</summary>
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        var direct = new bool[256];
        foreach (var (lo, hi) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
            for (int b = lo; b <= hi; b++) direct[b] = true;
        int next = 0;
        for (int b = 0; b < 256; b++) map[b] = direct[b] ? (char)b : (char)(256 + next++);
        return map;
    }

    /// <summary>Writes tokenizer.json (HF format: ByteLevel pre-tokenizer and decoder, BPE model) and tokenizer_config.json.</summary>
    public void Save(string dir, int maxLength)
    {
        Directory.CreateDirectory(dir);
        var opts = new JsonWriterOptions { Indented = true };
        using (var fs = File.Create(Path.Combine(dir, "tokenizer.json")))
        using (var w = new Utf8JsonWriter(fs, opts))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            w.WriteStartObject();
            w.WriteNumber("id", EndOfTextId);
            w.WriteString("content", EndOfText);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", true);
            w.WriteBoolean("trim_offsets", false);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", true);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int i = 0; i < _idToToken.Length; i++)
                if (i != EndOfTextId) w.WriteNumber(_idToToken[i], i);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (l, r) in Merges) w.WriteStringValue(l + " " + r);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        var config = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["bos_token"] = EndOfText,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = EndOfText,
            ["model_max_length"] = maxLength,
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["unk_token"] = EndOfText,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads back a tokenizer.json written by <see cref="Save"/> (vocab must be bytes, then merges, then end of text).</summary>
    public static ByteLevelBpe Load(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")));
        var merges = new List<(string, string)>();
        foreach (var m in doc.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.Array) merges.Add((m[0].GetString()!, m[1].GetString()!));
            else
            {
                var s = m.GetString()!;
                int sp = s.IndexOf(' ');
                merges.Add((s[..sp], s[(sp + 1)..]));
            }
        }
        return new ByteLevelBpe(merges);
    }
}
