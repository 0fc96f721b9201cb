namespace ModelVis.Tokenizers.Models;

/// <summary>A token produced by a model for one piece: id, its string, and [Start, End) in the piece's UTF-16 units.</summary>
internal readonly record struct ModelToken(int Id, string Value, int Start, int End);

/// <summary>The vocabulary and algorithm that turns one pre-tokenized piece into tokens.</summary>
internal abstract class TokenizerModel
{
    public abstract string Type { get; }
    public abstract void Tokenize(NormalizedString piece, List<ModelToken> output);
    public abstract int VocabSize { get; }
    public abstract string? IdToToken(int id);
    public abstract int? TokenToId(string token);

    int _maxTokenLength = -1;

    /// <summary>The longest vocabulary entry in UTF-16 units (at least 1), computed once: bounds the text one token covers.</summary>
    public int MaxTokenLength
    {
        get
        {
            if (_maxTokenLength < 0)
            {
                int max = 1;
                for (int id = 0; id < VocabSize; id++)
                    if (IdToToken(id) is { } t && t.Length > max) max = t.Length;
                _maxTokenLength = max;
            }
            return _maxTokenLength;
        }
    }
    public virtual string? UnkToken => null;
}

/// <summary>A vocabulary (token → id) and its inverse.</summary>
internal sealed class Vocabulary
{
    public readonly Dictionary<string, int> TokenToId;
    public readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> BySpan;
    public readonly string?[] IdToToken;

    public Vocabulary(Dictionary<string, int> tokenToId, string file)
    {
        TokenToId = tokenToId;
        BySpan = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        int max = tokenToId.Count == 0 ? -1 : tokenToId.Values.Max();
        if (tokenToId.Count > 0 && tokenToId.Values.Min() < 0) throw new TokenizerException($"{file}: the vocabulary has a negative id");
        // Ids index an array: an id of 2^31-1 would allocate 16 GB for a vocabulary of a few entries.
        if (max > Tokenizer.MaxTokenId)
            throw new TokenizerException($"{file}: the vocabulary has id {max}, over the limit of {Tokenizer.MaxTokenId:N0} (the largest real vocabularies have about 262,000 tokens)");
        IdToToken = new string?[max + 1];
        foreach (var (t, id) in tokenToId) IdToToken[id] = t;
    }

    public int Count => IdToToken.Length;
    public string? Token(int id) => (uint)id < (uint)IdToToken.Length ? IdToToken[id] : null;
    public int? Id(string token) => TokenToId.TryGetValue(token, out var id) ? id : null;
}
