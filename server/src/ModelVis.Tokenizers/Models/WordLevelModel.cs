namespace ModelVis.Tokenizers.Models;

/// <summary>WordLevel: each piece is looked up whole; missing pieces become the unknown token.</summary>
internal sealed class WordLevelModel(Dictionary<string, int> vocab, string? unkToken, string file) : TokenizerModel
{
    readonly Vocabulary _vocab = new(vocab, file);

    public override string Type => "WordLevel";
    public override int VocabSize => _vocab.Count;
    public override string? IdToToken(int id) => _vocab.Token(id);
    public override int? TokenToId(string token) => _vocab.Id(token);
    public override string? UnkToken => unkToken;

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        if (piece.Length == 0) return;
        if (_vocab.BySpan.TryGetValue(piece.Span, out var id)) { output.Add(new ModelToken(id, _vocab.IdToToken[id]!, 0, piece.Length)); return; }
        if (unkToken == null || !_vocab.TokenToId.TryGetValue(unkToken, out var unk))
            throw new TokenizerException($"WordLevel: \"{piece.Text}\" is not in the vocabulary and the unknown token \"{unkToken}\" is missing from it");
        output.Add(new ModelToken(unk, unkToken, 0, piece.Length));
    }
}
