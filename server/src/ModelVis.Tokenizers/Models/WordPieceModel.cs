namespace ModelVis.Tokenizers.Models;

/// <summary>
/// WordPiece (BERT): greedy longest-match-first from the start of the word; pieces after the first carry the
/// continuing-subword prefix (##). A word with no full segmentation, or longer than max_input_chars_per_word code
/// points, becomes one unknown token spanning the whole word.
/// </summary>
internal sealed class WordPieceModel : TokenizerModel
{
    readonly Vocabulary _vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations; // "##ing" stored as "ing"
    readonly string _unkToken, _prefix;
    readonly int _maxChars;

    public WordPieceModel(Dictionary<string, int> vocab, string unkToken, string prefix, int maxInputCharsPerWord, string file)
    {
        _vocab = new Vocabulary(vocab, file);
        _unkToken = unkToken; _prefix = prefix; _maxChars = maxInputCharsPerWord;
        var cont = new Dictionary<string, int>();
        if (prefix.Length > 0)
            foreach (var (t, id) in vocab)
                if (t.StartsWith(prefix, StringComparison.Ordinal)) cont[t[prefix.Length..]] = id;
        _continuations = cont.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public override string Type => "WordPiece";
    public override int VocabSize => _vocab.Count;
    public override string? IdToToken(int id) => _vocab.Token(id);
    public override int? TokenToId(string token) => _vocab.Id(token);
    public override string? UnkToken => _unkToken;

    int UnkId => _vocab.TokenToId.TryGetValue(_unkToken, out var id) ? id
        : throw new TokenizerException($"the unknown token \"{_unkToken}\" is not in the WordPiece vocabulary");

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        var text = piece.Span;
        if (text.Length == 0) return;
        int codePoints = 0;
        for (int i = 0; i < text.Length; i++) if (!char.IsLowSurrogate(text[i]) || i == 0 || !char.IsHighSurrogate(text[i - 1])) codePoints++;
        if (codePoints > _maxChars) { output.Add(new ModelToken(UnkId, _unkToken, 0, text.Length)); return; }

        int mark = output.Count;
        int start = 0;
        while (start < text.Length)
        {
            int end = text.Length, found = -1;
            while (start < end)
            {
                var sub = text[start..end];
                bool hit = start == 0 ? _vocab.BySpan.TryGetValue(sub, out found)
                    : _prefix.Length == 0 ? _vocab.BySpan.TryGetValue(sub, out found) : _continuations.TryGetValue(sub, out found);
                if (hit) break;
                found = -1;
                end -= end - 1 > start && char.IsLowSurrogate(text[end - 1]) && char.IsHighSurrogate(text[end - 2]) ? 2 : 1;
            }
            if (found < 0)
            {
                output.RemoveRange(mark, output.Count - mark);
                output.Add(new ModelToken(UnkId, _unkToken, 0, text.Length));
                return;
            }
            output.Add(new ModelToken(found, _vocab.IdToToken[found]!, start, end));
            start = end;
        }
    }
}
