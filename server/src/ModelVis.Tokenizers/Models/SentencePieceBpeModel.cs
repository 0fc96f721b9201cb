using System.Text;

namespace ModelVis.Tokenizers.Models;

/// <summary>
/// SentencePiece's BPE as llama.cpp runs it for GGUF vocabularies of type "llama" (llm_tokenizer_spm): a piece starts
/// as its characters; while some adjacent pair concatenates to a vocabulary token, the pair whose token has the highest
/// score is merged (the leftmost on equal scores). There is no merge list: any vocabulary token can be formed, ranked by
/// its score. A character left over that is not itself a token becomes its UTF-8 bytes as &lt;0xNN&gt; tokens, each
/// spanning the whole character (as Hugging Face's byte_fallback reports it), or the unknown token when the vocabulary
/// has no byte tokens.
/// </summary>
internal sealed class SentencePieceBpeModel : TokenizerModel
{
    readonly string[] _tokens;
    readonly float[] _scores;
    readonly Dictionary<string, int> _tokenToId;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    readonly int[] _byteIds = new int[256];
    readonly int _unkId;
    readonly string _file;

    /// <param name="tokens">Token text by id.</param>
    /// <param name="scores">Score by id (higher merges first).</param>
    /// <param name="unkId">The unknown token, or −1.</param>
    public SentencePieceBpeModel(string[] tokens, float[] scores, int unkId, string file)
    {
        if (scores.Length != tokens.Length)
            throw new TokenizerException($"{file}: {tokens.Length} tokens but {scores.Length} scores");
        _tokens = tokens; _scores = scores; _file = file;
        _unkId = unkId >= 0 && unkId < tokens.Length ? unkId : -1;
        _tokenToId = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        // With a duplicate token text the last id wins, as in llama.cpp's token_to_id.
        for (int i = 0; i < tokens.Length; i++) _tokenToId[tokens[i]] = i;
        _bySpan = _tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int b = 0; b < 256; b++) _byteIds[b] = _tokenToId.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
    }

    public override string Type => "BPE";
    public override int VocabSize => _tokens.Length;
    public override string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;
    public override int? TokenToId(string token) => _tokenToId.TryGetValue(token, out var id) ? id : null;
    public override string? UnkToken => _unkId >= 0 ? _tokens[_unkId] : null;

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        string text = piece.Text;
        int n0 = text.Length;
        if (n0 == 0) return;
        // Symbols: [start, end) in the piece, linked in a list; a merged-away symbol has length 0.
        var start = new List<int>(n0); var len = new List<int>(n0);
        for (int i = 0; i < n0;)
        {
            piece.CodePointAt(i, out int units);
            start.Add(i); len.Add(units);
            i += units;
        }
        int n = start.Count;
        var prev = new int[n]; var next = new int[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }

        // Highest score first, then the leftmost symbol: the priority is (−score, left).
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float, int)>(Comparer<(float NegScore, int Left)>.Create(
            (a, b) => a.NegScore != b.NegScore ? a.NegScore.CompareTo(b.NegScore) : a.Left.CompareTo(b.Left)));
        void TryAdd(int left, int right)
        {
            if (left < 0 || right < 0) return;
            int size = len[left] + len[right];
            if (_bySpan.TryGetValue(text.AsSpan(start[left], size), out var id))
                queue.Enqueue((left, right, size), (-_scores[id], left));
        }
        for (int i = 1; i < n; i++) TryAdd(i - 1, i);
        while (queue.TryDequeue(out var bigram, out _))
        {
            // Symbols only grow, so a pair whose lengths still add up to the size it had when queued is still adjacent and unchanged.
            if (len[bigram.Left] == 0 || len[bigram.Right] == 0 || len[bigram.Left] + len[bigram.Right] != bigram.Size) continue;
            int left = bigram.Left, right = bigram.Right;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            TryAdd(prev[left], left);
            TryAdd(left, next[left]);
        }

        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i >= 0; i = next[i])
        {
            var s = text.AsSpan(start[i], len[i]);
            if (_bySpan.TryGetValue(s, out var id)) { output.Add(new ModelToken(id, _tokens[id], start[i], start[i] + len[i])); continue; }
            // Only single characters can be left unknown: every merge made a vocabulary token.
            int cp = piece.CodePointAt(start[i], out _);
            int nb = (Rune.TryCreate(cp, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
            bool allBytes = true;
            for (int k = 0; k < nb; k++) allBytes &= _byteIds[utf8[k]] >= 0;
            if (allBytes)
                for (int k = 0; k < nb; k++) output.Add(new ModelToken(_byteIds[utf8[k]], _tokens[_byteIds[utf8[k]]], start[i], start[i] + len[i]));
            else if (_unkId >= 0) output.Add(new ModelToken(_unkId, _tokens[_unkId], start[i], start[i] + len[i]));
            else throw new TokenizerException($"{_file}: \"{s.ToString()}\" is not in the vocabulary, which has neither <0x{utf8[0]:X2}> byte tokens nor an unknown token");
        }
    }
}
