using System.Text;
using System.Text.Json;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Training.Tokenizer;

/// <summary>
/// Learns a byte-level BPE vocabulary as GPT-2 and Hugging Face <c>tokenizers</c> define it and writes it as
/// tokenizer.json. Ids 0–255 are the single bytes (in byte order), then one id per merge, then the special
/// end-of-text token. Every encoding — the training corpus's included — goes through ModelVis.Tokenizers reading
/// that tokenizer.json (<see cref="Tokenizer"/>), and training counts pairs in the words that reader gives, so the
/// model is trained on exactly the ids its tokenizer produces.
/// </summary>
public sealed class ByteLevelBpe
{
    public const string EndOfText = "<|endoftext|>";

    readonly string[] _idToToken;

    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public int VocabSize => _idToToken.Length;
    public int EndOfTextId { get; }

    /// <summary>This vocabulary's tokenizer.json, read by ModelVis.Tokenizers.</summary>
    public ModelVis.Tokenizers.Tokenizer Tokenizer { get; }

    ByteLevelBpe(List<(string, string)> merges)
    {
        Merges = merges;
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++) tokens.Add(ByteLevelAlphabet.ForByte((byte)b).ToString());
        foreach (var (left, right) in merges) tokens.Add(left + right);
        EndOfTextId = tokens.Count;
        tokens.Add(EndOfText);
        _idToToken = tokens.ToArray();
        Tokenizer = ModelVis.Tokenizers.Tokenizer.FromJson(TokenizerJson(), "tokenizer.json (trained)");
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
        // The words the reader gives (the vocabulary of bytes alone has the same pre-tokenizer as the trained one).
        var reader = new ByteLevelBpe([]).Tokenizer;
        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var word in reader.Words(text))
                wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
        // Words as symbol lists, in a stable order.
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: kv.Key.Select(ch => ch.ToString()).ToList(), Count: kv.Value)).ToList();
        var merges = new List<(string, string)>();
        // A pair whose text is already a token (reached by another merge order) is never merged again, so every id is one distinct string.
        var known = new HashSet<string>(Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ForByte((byte)b).ToString()), StringComparer.Ordinal);
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

    /// <summary>
    /// The <paramref name="count"/> most frequent words of <paramref name="texts"/> made of ASCII letters (identifiers
    /// and keywords, as the pre-tokenizer cuts them: with the space before them when there is one), most frequent
    /// first, each with the number of tokens it encodes to: how well the vocabulary reads the corpus' code.
    /// </summary>
    public IReadOnlyList<(string Word, long Occurrences, int Tokens)> CommonWords(IEnumerable<string> texts, int count)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var word in Tokenizer.Words(text))
            {
                // In the byte alphabet ASCII letters are themselves and a space is Ġ.
                var letters = word.StartsWith('Ġ') ? word.AsSpan(1) : word.AsSpan();
                if (letters.Length > 1 && !letters.ContainsAnyExcept(AsciiLetters)) counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        return counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(count)
            .Select(kv => (kv.Key.Replace('Ġ', ' '), kv.Value, Encode(kv.Key.Replace('Ġ', ' ')).Length)).ToList();
    }

    static readonly System.Buffers.SearchValues<char> AsciiLetters = System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Token ids of <paramref name="text"/> (no special tokens added; a literal end-of-text marker is the special token).</summary>
    public int[] Encode(string text) => Tokenizer.Encode(text, addSpecialTokens: false).Ids;

    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids.ToArray(), skipSpecialTokens: false);

    /// <summary>Writes tokenizer.json (HF format: ByteLevel pre-tokenizer and decoder, BPE model) and tokenizer_config.json.</summary>
    public void Save(string dir, int maxLength)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), TokenizerJson());
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

    /// <summary>tokenizer.json as Hugging Face writes it for this vocabulary.</summary>
    byte[] TokenizerJson()
    {
        var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
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
        return stream.ToArray();
    }
}
