using System.Text.Json;
using ModelVis.Tokenizers.Models;
using ModelVis.Tokenizers.Normalizers;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers;

/// <summary>
/// Folders without tokenizer.json, built as transformers' converters build the fast tokenizer: GPT-2/RoBERTa's
/// vocab.json + merges.txt (byte-level BPE) and BERT's vocab.txt (WordPiece).
/// </summary>
internal static class LegacyFormats
{
    /// <summary>merges.txt and vocab.txt: regular files of at most <see cref="Tokenizer.MaxFileBytes"/>, checked before reading.</summary>
    static IEnumerable<string> ReadLines(string path)
    {
        long length = ModelVis.IO.InputFile.RequireRegular(path, m => new TokenizerException(m));
        if (length > Tokenizer.MaxFileBytes)
            throw new TokenizerException($"{Path.GetFileName(path)}: {length} bytes, over the {Tokenizer.MaxFileBytes >> 20} MB limit for a tokenizer file");
        return File.ReadLines(path);
    }

    public static Tokenizer.Parts Gpt2(string dir, TokenizerConfig config)
    {
        var vocabPath = Path.Combine(dir, "vocab.json");
        var mergesPath = Path.Combine(dir, "merges.txt");
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(ModelVis.IO.InputFile.ReadAllBytes(vocabPath, Tokenizer.MaxFileBytes, m => new TokenizerException(m))) ?? []; }
        catch (JsonException e) { throw new TokenizerException($"{vocabPath}: not a JSON object of token → id ({e.Message})", e); }
        var merges = new List<(string, string)>();
        int lineNo = 0;
        foreach (var line in ReadLines(mergesPath))
        {
            lineNo++;
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            merges.Add(TokenizerJson.SplitMerge(line.TrimEnd('\r'), $"line {lineNo}", mergesPath));
        }
        var model = new BpeModel(vocab, merges, null, null, null, false, false, false, mergesPath);
        bool roberta = config.TokenizerClass?.Contains("Roberta", StringComparison.Ordinal) == true;
        var added = new List<AddedToken>(config.AddedTokens);
        void AddSpecial(string? content, bool lstrip = false)
        {
            if (content == null || added.Any(a => a.Content == content) || !vocab.TryGetValue(content, out var id)) return;
            added.Add(new AddedToken(id, content, false, lstrip, false, false, true));
        }
        AddSpecial(config.Bos ?? (roberta ? "<s>" : "<|endoftext|>"));
        AddSpecial(config.Eos ?? (roberta ? "</s>" : null));
        AddSpecial(config.Unk); AddSpecial(config.Pad);
        if (roberta) { AddSpecial("<pad>"); AddSpecial("<unk>"); AddSpecial("<mask>", lstrip: true); }
        IPostProcessor processor = roberta && vocab.TryGetValue("<s>", out var cls) && vocab.TryGetValue("</s>", out var sep)
            ? new TrimOffsetsProcessor(true, config.AddPrefixSpace ?? false, (cls, "<s>"), (sep, "</s>"))
            : new TrimOffsetsProcessor(false, true, null, null);
        return new Tokenizer.Parts(model, null, new ByteLevelPreTokenizer(config.AddPrefixSpace ?? false, true), processor,
            new ByteLevelDecoder(), added, dir);
    }

    public static Tokenizer.Parts Bert(string dir, TokenizerConfig config)
    {
        var path = Path.Combine(dir, "vocab.txt");
        var vocab = new Dictionary<string, int>();
        int id = 0;
        foreach (var line in ReadLines(path))
        {
            var token = line.TrimEnd('\r');
            vocab.TryAdd(token, id);
            id++;
        }
        if (vocab.Count == 0) throw new TokenizerException($"{path}: the vocabulary is empty");
        var unk = config.Unk ?? "[UNK]";
        if (!vocab.ContainsKey(unk)) throw new TokenizerException($"{path}: the unknown token \"{unk}\" is not in the vocabulary");
        bool lower = config.DoLowerCase ?? true;
        var added = new List<AddedToken>(config.AddedTokens);
        foreach (var s in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
            if (vocab.TryGetValue(s, out var sid) && !added.Any(a => a.Content == s)) added.Add(new AddedToken(sid, s, false, false, false, false, true));
        IPostProcessor? processor = vocab.TryGetValue("[CLS]", out var cls) && vocab.TryGetValue("[SEP]", out var sep)
            ? new TemplateProcessor([([cls], ["[CLS]"]), null, ([sep], ["[SEP]"])]) : null;
        return new Tokenizer.Parts(new WordPieceModel(vocab, unk, "##", 100, path), new BertNormalizer(true, true, config.StripAccents, lower),
            new BertPreTokenizer(), processor, new WordPieceDecoder("##", true), added, dir);
    }
}
