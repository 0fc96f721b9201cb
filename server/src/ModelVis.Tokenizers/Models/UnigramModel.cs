using System.Collections.Concurrent;
using System.Text;

namespace ModelVis.Tokenizers.Models;

/// <summary>
/// SentencePiece Unigram: the segmentation of a piece with the highest total log-probability (Viterbi over a trie of the
/// vocabulary). A character no vocabulary piece covers costs min_score − 10 as the unknown token; consecutive unknown
/// characters fuse into one token that keeps its surface text as its string (its id is unk_id), or become &lt;0xNN&gt;
/// byte tokens when byte_fallback is on.
/// </summary>
internal sealed class UnigramModel : TokenizerModel
{
    readonly string[] _pieces;
    readonly double[] _scores;
    readonly Dictionary<string, int> _pieceToId;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieceBySpan;
    readonly int _unkId;
    readonly bool _byteFallback;
    readonly double _unkScore;
    // Trie over UTF-16 units: (node << 16 | char) → child node; _nodeToken[node] = piece id ending there or −1.
    readonly Dictionary<long, int> _children = new();
    readonly List<int> _nodeToken = [-1];
    readonly ConcurrentDictionary<string, ModelToken[]> _cache = new();
    const double UnkPenalty = 10.0;

    public UnigramModel(List<(string Piece, double Score)> vocab, int? unkId, bool byteFallback, string file)
    {
        _pieces = vocab.Select(v => v.Piece).ToArray();
        _scores = vocab.Select(v => v.Score).ToArray();
        _pieceToId = new Dictionary<string, int>(vocab.Count);
        for (int i = 0; i < _pieces.Length; i++) _pieceToId[_pieces[i]] = i;
        _pieceBySpan = _pieceToId.GetAlternateLookup<ReadOnlySpan<char>>();
        if (unkId is { } u && (u < 0 || u >= _pieces.Length))
            throw new TokenizerException($"{file}: model.unk_id {u} is outside the vocabulary of {_pieces.Length} pieces");
        _unkId = unkId ?? -1;
        _byteFallback = byteFallback;
        _unkScore = (_scores.Length == 0 ? 0 : _scores.Min()) - UnkPenalty;
        for (int id = 0; id < _pieces.Length; id++)
        {
            var p = _pieces[id];
            if (p.Length == 0) continue;
            int node = 0;
            foreach (var c in p)
            {
                long key = ((long)node << 16) | c;
                if (!_children.TryGetValue(key, out var child))
                {
                    child = _nodeToken.Count;
                    _nodeToken.Add(-1);
                    _children[key] = child;
                }
                node = child;
            }
            // With duplicate pieces the last id wins, as in HF's token_to_ids.
            _nodeToken[node] = _pieceToId[p];
        }
    }

    public override string Type => "Unigram";
    public override int VocabSize => _pieces.Length;
    public override string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;
    public override int? TokenToId(string token) => _pieceToId.TryGetValue(token, out var id) ? id : null;
    public override string? UnkToken => _unkId >= 0 ? _pieces[_unkId] : null;

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        var text = piece.Span;
        if (text.Length == 0) return;
        var lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(text, out var tokens))
        {
            tokens = Encode(text);
            if (text.Length <= 256)
            {
                if (_cache.Count > 100_000) _cache.Clear();
                _cache.TryAdd(text.ToString(), tokens);
            }
        }
        output.AddRange(tokens);
    }

    ModelToken[] Encode(ReadOnlySpan<char> text)
    {
        int n = text.Length;
        var score = new double[n + 1];
        var from = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(from, -1);
        for (int start = 0; start < n;)
        {
            int charLen = char.IsHighSurrogate(text[start]) && start + 1 < n && char.IsLowSurrogate(text[start + 1]) ? 2 : 1;
            double here = score[start];
            bool singleChar = false;
            int node = 0;
            for (int k = start; k < n; k++)
            {
                if (!_children.TryGetValue(((long)node << 16) | text[k], out node)) break;
                int id = _nodeToken[node];
                if (id < 0) continue;
                int end = k + 1;
                double candidate = here + _scores[id];
                if (from[end] < 0 || candidate > score[end]) { score[end] = candidate; from[end] = start; ids[end] = id; }
                if (end - start == charLen) singleChar = true;
            }
            if (!singleChar)
            {
                if (_unkId < 0) throw new TokenizerException("Unigram: a character is not in the vocabulary and the model has no unk_id");
                int end = start + charLen;
                double candidate = here + _unkScore;
                if (from[end] < 0 || candidate > score[end]) { score[end] = candidate; from[end] = start; ids[end] = _unkId; }
            }
            start += charLen;
        }
        // Backtrack; consecutive unknown pieces fuse into one.
        var pieces = new List<(int Start, int End, bool Unk)>();
        for (int end = n; end > 0;)
        {
            int start = from[end];
            bool unk = ids[end] == _unkId;
            if (unk && pieces.Count > 0 && pieces[^1].Unk) pieces[^1] = (start, pieces[^1].End, true);
            else pieces.Add((start, end, unk));
            end = start;
        }
        pieces.Reverse();
        var result = new List<ModelToken>(pieces.Count);
        foreach (var (s, e, _) in pieces)
        {
            var str = text[s..e];
            if (_pieceBySpan.TryGetValue(str, out var id))
            {
                result.Add(new ModelToken(id, _pieces[id], s, e));
                continue;
            }
            if (_byteFallback)
            {
                var bytes = Encoding.UTF8.GetBytes(str.ToArray());
                var byteIds = bytes.Select(b => _pieceToId.TryGetValue($"<0x{b:X2}>", out var bid) ? bid : -1).ToArray();
                if (byteIds.All(b => b >= 0))
                {
                    foreach (var bid in byteIds) result.Add(new ModelToken(bid, _pieces[bid], s, e));
                    continue;
                }
            }
            result.Add(new ModelToken(_unkId, str.ToString(), s, e));
        }
        return result.ToArray();
    }
}
