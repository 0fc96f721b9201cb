using System.Collections.Concurrent;
using System.Text;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers.Models;

/// <summary>
/// Byte-pair encoding: a word starts as its characters (or, for byte-level pieces, its UTF-8 bytes as GPT-2 symbols),
/// then the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a merge.
/// Characters missing from the vocabulary become &lt;0xNN&gt; byte tokens (byte_fallback) or the unknown token (fused
/// when fuse_unk). Results are cached per piece text.
/// </summary>
internal sealed class BpeModel : TokenizerModel
{
    readonly Vocabulary _vocab;
    readonly Dictionary<long, (int Rank, int NewId)> _merges;
    readonly string? _unkToken, _prefix, _suffix;
    readonly int _unkId = -1;
    readonly bool _fuseUnk, _byteFallback, _ignoreMerges;
    readonly int[] _byteSymbolIds = new int[256];      // id of the byte-level symbol for each byte (no prefix/suffix), -1 if absent
    readonly int[] _byteFallbackIds = new int[256];    // id of <0xNN>, -1 if absent
    // Byte-level and plain pieces with the same text tokenize differently, so each kind has its own cache.
    readonly ConcurrentDictionary<string, CachedWord> _byteLevelCache = new(), _plainCache = new();
    const int CacheLimit = 100_000, CacheMaxPieceLength = 256;

    sealed record CachedWord(int[] Ids, int[] Starts, int[] Ends);

    public BpeModel(Dictionary<string, int> vocab, List<(string A, string B)> merges, string? unkToken, string? prefix, string? suffix,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, string file)
    {
        _vocab = new Vocabulary(vocab, file);
        _unkToken = unkToken;
        _prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
        _suffix = string.IsNullOrEmpty(suffix) ? null : suffix;
        _fuseUnk = fuseUnk; _byteFallback = byteFallback; _ignoreMerges = ignoreMerges;
        if (unkToken != null && vocab.TryGetValue(unkToken, out var u)) _unkId = u;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        int prefixLen = _prefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out var aId))
                throw new TokenizerException($"{file}: merge #{rank} \"{a} {b}\": \"{a}\" is not in the vocabulary");
            if (!vocab.TryGetValue(b, out var bId))
                throw new TokenizerException($"{file}: merge #{rank} \"{a} {b}\": \"{b}\" is not in the vocabulary");
            var merged = a + (prefixLen > 0 && b.StartsWith(_prefix!, StringComparison.Ordinal) ? b[prefixLen..] : b);
            if (!vocab.TryGetValue(merged, out var newId))
                throw new TokenizerException($"{file}: merge #{rank} \"{a} {b}\": the merged token \"{merged}\" is not in the vocabulary");
            _merges[Key(aId, bId)] = (rank, newId);
        }
        for (int b = 0; b < 256; b++)
        {
            _byteSymbolIds[b] = vocab.TryGetValue(ByteLevelAlphabet.ByteToChar[b].ToString(), out var id) ? id : -1;
            _byteFallbackIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var fb) ? fb : -1;
        }
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    public override string Type => "BPE";
    public override int VocabSize => _vocab.Count;
    public override string? IdToToken(int id) => _vocab.Token(id);
    public override int? TokenToId(string token) => _vocab.Id(token);
    public override string? UnkToken => _unkToken;

    public override void Tokenize(NormalizedString piece, List<ModelToken> output)
    {
        var text = piece.Span;
        if (text.Length == 0) return;
        bool cacheable = text.Length <= CacheMaxPieceLength;
        var cache = piece.ByteLevel ? _byteLevelCache : _plainCache;
        CachedWord? word = null;
        if (cacheable) cache.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out word);
        if (word == null)
        {
            word = Encode(piece);
            if (cacheable)
            {
                if (cache.Count > CacheLimit) cache.Clear();
                cache.TryAdd(text.ToString(), word);
            }
        }
        for (int i = 0; i < word.Ids.Length; i++)
            output.Add(new ModelToken(word.Ids[i], _vocab.IdToToken[word.Ids[i]]!, word.Starts[i], word.Ends[i]));
    }

    /// <summary>Symbols of a word: id and [start, end) in the piece's UTF-16 units.</summary>
    struct Symbols
    {
        public List<int> Ids, Starts, Ends;
        public Symbols(int capacity) { Ids = new(capacity); Starts = new(capacity); Ends = new(capacity); }
        public void Add(int id, int s, int e) { Ids.Add(id); Starts.Add(s); Ends.Add(e); }
    }

    CachedWord Encode(NormalizedString piece)
    {
        var text = piece.Span;
        if (_ignoreMerges)
        {
            var whole = piece.ByteLevel ? ByteLevelAlphabet.Map(text) : text.ToString();
            if (_vocab.TokenToId.TryGetValue(whole, out var id)) return new CachedWord([id], [0], [text.Length]);
        }
        var sym = new Symbols(text.Length + 4);
        int unkStart = -1, unkEnd = -1;
        void FlushUnk(ref Symbols s)
        {
            if (unkStart >= 0) { s.Add(_unkId, unkStart, unkEnd); unkStart = -1; }
        }

        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            int cp = piece.CodePointAt(i, out int n);
            // A lone surrogate cannot be UTF-8: it is encoded as U+FFFD, as the text would be on its way into Rust.
            int nb = (Rune.TryCreate(cp, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
            if (piece.ByteLevel)
            {
                // Each byte is a symbol of the byte-level alphabet.
                for (int k = 0; k < nb; k++)
                {
                    bool first = i == 0 && k == 0, last = i + n == text.Length && k == nb - 1;
                    int id = (_prefix == null && _suffix == null) ? _byteSymbolIds[utf8[k]]
                        : Lookup(ByteLevelAlphabet.ByteToChar[utf8[k]].ToString(), first, last);
                    if (id >= 0) { FlushUnk(ref sym); sym.Add(id, i, i + n); }
                    else AddUnknown(ref sym, i, i + n, utf8[k..(k + 1)], ref unkStart, ref unkEnd);
                }
            }
            else
            {
                bool first = i == 0, last = i + n == text.Length;
                int id = (_prefix == null && _suffix == null)
                    ? (_vocab.BySpan.TryGetValue(text.Slice(i, n), out var v) ? v : -1)
                    : Lookup(text.Slice(i, n).ToString(), first, last);
                if (id >= 0) { FlushUnk(ref sym); sym.Add(id, i, i + n); }
                else AddUnknown(ref sym, i, i + n, utf8[..nb], ref unkStart, ref unkEnd);
            }
            i += n;
        }
        FlushUnk(ref sym);
        Merge(ref sym);
        return new CachedWord(sym.Ids.ToArray(), sym.Starts.ToArray(), sym.Ends.ToArray());
    }

    int Lookup(string s, bool first, bool last)
    {
        if (!first && _prefix != null) s = _prefix + s;
        if (last && _suffix != null) s += _suffix;
        return _vocab.TokenToId.TryGetValue(s, out var id) ? id : -1;
    }

    void AddUnknown(ref Symbols sym, int start, int end, ReadOnlySpan<byte> bytes, ref int unkStart, ref int unkEnd)
    {
        if (_byteFallback)
        {
            bool all = true;
            foreach (var b in bytes) all &= _byteFallbackIds[b] >= 0;
            if (all)
            {
                if (unkStart >= 0) { sym.Add(_unkId, unkStart, unkEnd); unkStart = -1; }
                // Every byte token of a character spans the whole character.
                foreach (var b in bytes) sym.Add(_byteFallbackIds[b], start, end);
                return;
            }
        }
        if (_unkToken == null) return; // HF drops characters it cannot represent when there is no unknown token
        if (_unkId < 0) throw new TokenizerException($"the unknown token \"{_unkToken}\" is not in the BPE vocabulary");
        if (unkStart >= 0 && _fuseUnk) { unkEnd = end; return; }
        if (unkStart >= 0) sym.Add(_unkId, unkStart, unkEnd);
        unkStart = start; unkEnd = end;
    }

    /// <summary>Merges the lowest-ranked adjacent pair, leftmost first, until none has a merge.</summary>
    void Merge(ref Symbols sym)
    {
        var ids = sym.Ids; var starts = sym.Starts; var ends = sym.Ends;
        if (ids.Count < 2) return;
        if (ids.Count <= 48)
        {
            while (true)
            {
                int best = -1, bestRank = int.MaxValue, bestId = 0;
                for (int i = 0; i + 1 < ids.Count; i++)
                    if (_merges.TryGetValue(Key(ids[i], ids[i + 1]), out var m) && m.Rank < bestRank) { best = i; bestRank = m.Rank; bestId = m.NewId; }
                if (best < 0) return;
                ids[best] = bestId; ends[best] = ends[best + 1];
                ids.RemoveAt(best + 1); starts.RemoveAt(best + 1); ends.RemoveAt(best + 1);
            }
        }
        MergeWithQueue(ids, starts, ends);
    }

    /// <summary>The same merge order for long words, with a priority queue over (rank, position) and a linked list.</summary>
    void MergeWithQueue(List<int> ids, List<int> starts, List<int> ends)
    {
        int n = ids.Count;
        var prev = new int[n]; var next = new int[n]; var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        void Push(int pos)
        {
            int nx = next[pos];
            if (nx >= 0 && _merges.TryGetValue(Key(ids[pos], ids[nx]), out var m)) queue.Enqueue((pos, m.NewId), ((long)m.Rank << 32) | (uint)pos);
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!_merges.TryGetValue(Key(ids[pos], ids[right]), out var m) || m.NewId != top.NewId) continue;
            ids[pos] = m.NewId; ends[pos] = ends[right];
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) Push(prev[pos]);
            Push(pos);
        }
        int w = 0;
        for (int i = 0; i < n; i++)
            if (alive[i]) { ids[w] = ids[i]; starts[w] = starts[i]; ends[w] = ends[i]; w++; }
        ids.RemoveRange(w, n - w); starts.RemoveRange(w, n - w); ends.RemoveRange(w, n - w);
    }
}
