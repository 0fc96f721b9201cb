using System.Text;
using ModelVis.Tokenizers.Models;
using ModelVis.Tokenizers.PreTokenizers;
using MlTokenizers = Microsoft.ML.Tokenizers;

namespace ModelVis.Tokenizers;

/// <summary>
/// Folders that ship only a tiktoken vocabulary (<c>*.tiktoken</c>, or a <c>tokenizer.model</c> whose lines are
/// "base64-token rank"): encoded by Microsoft.ML.Tokenizers' <see cref="MlTokenizers.TiktokenTokenizer"/>, which
/// matches OpenAI's tiktoken exactly. The file does not say which splitting pattern and special tokens go with it,
/// so the encoding is recognised by its number of ranks (r50k, p50k, cl100k, o200k); other vocabularies are refused.
/// Tokens are shown as byte-level symbols (Ġ for a space), as GPT-2's own tokenizer.json shows the same ids.
/// </summary>
internal static class Tiktoken
{
    /// <summary>The rank counts of OpenAI's encodings, and a model name the library knows for each.</summary>
    static readonly (int Ranks, string Encoding, string Model)[] Known =
    [
        (50256, "r50k_base", "gpt2"),
        (50280, "p50k_base", "text-davinci-003"),
        (100256, "cl100k_base", "gpt-4"),
        (199998, "o200k_base", "gpt-4o"),
    ];

    /// <summary>The tiktoken file of a folder, or null: the one <c>*.tiktoken</c> file, else a tiktoken-format tokenizer.model.</summary>
    public static string? Find(string dir)
    {
        var files = Directory.GetFiles(dir, "*.tiktoken");
        if (files.Length > 1) throw new TokenizerException($"{dir}: {files.Length} .tiktoken files ({string.Join(", ", files.Select(Path.GetFileName))}); keep one");
        if (files.Length == 1) return files[0];
        var model = Path.Combine(dir, "tokenizer.model");
        return File.Exists(model) && LooksLikeTiktoken(model) ? model : null;
    }

    /// <summary>A SentencePiece tokenizer.model is a protobuf; a tiktoken one starts with "base64 rank".</summary>
    static bool LooksLikeTiktoken(string path)
    {
        using var reader = new StreamReader(path, Encoding.ASCII);
        var first = reader.ReadLine();
        if (first is null) return false;
        int space = first.IndexOf(' ');
        if (space <= 0 || !int.TryParse(first.AsSpan(space + 1), out _)) return false;
        Span<byte> scratch = stackalloc byte[space];
        return Convert.TryFromBase64String(first[..space], scratch, out _);
    }

    public static Tokenizer.Parts Read(string path)
    {
        var symbols = ReadSymbols(path);
        int ranks = symbols.Count;
        var known = Known.FirstOrDefault(k => k.Ranks == ranks);
        if (known.Model is null)
            throw new TokenizerException($"{path}: a tiktoken vocabulary of {ranks:N0} ranks, not one of {string.Join(", ", Known.Select(k => $"{k.Encoding} ({k.Ranks:N0})"))}: its splitting pattern is unknown; add the model's tokenizer.json");
        MlTokenizers.TiktokenTokenizer tiktoken;
        try
        {
            using var stream = File.OpenRead(path);
            tiktoken = MlTokenizers.TiktokenTokenizer.CreateForModel(known.Model, stream);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            throw new TokenizerException($"{path}: not a readable tiktoken file ({e.Message})", e);
        }
        var added = tiktoken.SpecialTokens?.Select(s => new AddedToken(s.Value, s.Key, false, false, false, false, true)).ToList() ?? [];
        return new Tokenizer.Parts(new TiktokenModel(tiktoken, known.Encoding, symbols, path), null, null, null, new ByteLevelDecoder(), added, path);
    }

    /// <summary>rank → the token's bytes as byte-level symbols (the library keeps its byte table to itself).</summary>
    static Dictionary<int, string> ReadSymbols(string path)
    {
        var symbols = new Dictionary<int, string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            byte[] bytes;
            try { bytes = Convert.FromBase64String(space > 0 ? line[..space] : ""); }
            catch (FormatException) { bytes = []; }
            if (space <= 0 || bytes.Length == 0 || !int.TryParse(line.AsSpan(space + 1), out int rank) || rank < 0)
                throw new TokenizerException($"{path}: line {lineNo} is not \"base64-token rank\"");
            if (!symbols.TryAdd(rank, ByteLevelAlphabet.ToSymbols(bytes)))
                throw new TokenizerException($"{path}: line {lineNo}: rank {rank} appears twice");
        }
        return symbols;
    }
}

/// <summary>The tiktoken encoder as a model: it splits the text with its own pattern, then merges bytes by rank.</summary>
internal sealed class TiktokenModel : TokenizerModel
{
    readonly MlTokenizers.TiktokenTokenizer _tiktoken;
    readonly string?[] _tokens;                 // id → byte-level symbols
    readonly Dictionary<string, int> _ids;

    public TiktokenModel(MlTokenizers.TiktokenTokenizer tiktoken, string encoding, Dictionary<int, string> symbols, string path)
    {
        _tiktoken = tiktoken;
        Encoding = encoding;
        int max = Math.Max(symbols.Keys.DefaultIfEmpty(-1).Max(), tiktoken.SpecialTokens?.Values.DefaultIfEmpty(-1).Max() ?? -1);
        _tokens = new string?[max + 1];
        _ids = new Dictionary<string, int>(symbols.Count, StringComparer.Ordinal);
        foreach (var (id, token) in symbols)
        {
            _tokens[id] = token;
            if (!_ids.TryAdd(token, id)) throw new TokenizerException($"{path}: rank {id} repeats the bytes of rank {_ids[token]}");
        }
    }

    /// <summary>"r50k_base", "cl100k_base"…</summary>
    public string Encoding { get; }
    public override string Type => "BPE";
    public override int VocabSize => _tokens.Length;
    public override string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;
    public override int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        var text = piece.Text;
        var tokens = _tiktoken.EncodeToTokens(text, out _, considerPreTokenization: true, considerNormalization: false);
        // The library gives each token the UTF-16 range of the characters its bytes come from; a character split
        // over several tokens gives every one of them that character's whole range (as Hugging Face does).
        foreach (var t in tokens)
        {
            var (start, length) = t.Offset.GetOffsetAndLength(text.Length);
            output.Add(new ModelToken(t.Id, _tokens[t.Id] ?? t.Value, start, start + length));
        }
    }
}
