using System.Globalization;
using System.Text;

namespace ModelVis.Tokenizers.Normalizers;

/// <summary>
/// SentencePiece's precompiled character map (t5, ALBERT, XLM-R…): a Darts-clone double-array trie over UTF-8 whose
/// values point into a blob of NUL-terminated replacement strings. As in Hugging Face, each grapheme cluster shorter
/// than 6 UTF-8 bytes is looked up whole (the first, i.e. shortest, prefix match replaces the whole cluster); otherwise
/// each character is looked up alone. This is not Unicode NFKC: it does not reorder combining marks.
/// </summary>
internal sealed class PrecompiledNormalizer : INormalizer
{
    readonly uint[] _trie;
    readonly byte[] _normalized;
    readonly System.Collections.Concurrent.ConcurrentDictionary<int, string?> _charCache = new();

    public PrecompiledNormalizer(byte[] charsmap, string file)
    {
        if (charsmap.Length == 0) { _trie = []; _normalized = []; return; }
        if (charsmap.Length < 4) throw new TokenizerException($"{file}: normalizer.precompiled_charsmap is too short ({charsmap.Length} bytes)");
        int trieSize = (int)BitConverter.ToUInt32(charsmap, 0);
        if (trieSize % 4 != 0 || 4 + trieSize > charsmap.Length)
            throw new TokenizerException($"{file}: normalizer.precompiled_charsmap declares a trie of {trieSize} bytes but holds {charsmap.Length - 4}");
        _trie = new uint[trieSize / 4];
        for (int i = 0; i < _trie.Length; i++) _trie[i] = BitConverter.ToUInt32(charsmap, 4 + 4 * i);
        _normalized = charsmap[(4 + trieSize)..];
    }

    /// <summary>The replacement for the first (shortest) prefix of <paramref name="utf8"/> in the trie, or null.</summary>
    string? Transform(ReadOnlySpan<byte> utf8)
    {
        if (_trie.Length == 0) return null;
        int node = 0;
        uint unit = _trie[node];
        node ^= Offset(unit);
        foreach (var c in utf8)
        {
            if (c == 0) break;
            node ^= c;
            if ((uint)node >= (uint)_trie.Length) return null;
            unit = _trie[node];
            if ((unit & 0x800000FFu) != c) return null;
            node ^= Offset(unit);
            if (((unit >> 8) & 1) == 1)
            {
                int start = (int)(_trie[node] & 0x7FFFFFFFu);
                int end = start;
                while (end < _normalized.Length && _normalized[end] != 0) end++;
                return Encoding.UTF8.GetString(_normalized, start, end - start);
            }
        }
        return null;
    }

    static int Offset(uint unit) => (int)((unit >> 10) << (int)((unit & (1u << 9)) >> 6));

    string? TransformChar(int cp)
    {
        if (_charCache.TryGetValue(cp, out var r)) return r;
        Span<byte> buf = stackalloc byte[4];
        int n = (Rune.TryCreate(cp, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(buf);
        r = Transform(buf[..n]);
        _charCache[cp] = r;
        return r;
    }

    public NormalizedString Normalize(NormalizedString text)
    {
        NormalizedString.Builder? b = null;
        var span = text.Span;
        Span<byte> utf8 = stackalloc byte[8];
        for (int i = 0; i < text.Length;)
        {
            int g = StringInfo.GetNextTextElementLength(span[i..]);
            if (g <= 0) g = 1;
            string? whole = null;
            if (Encoding.UTF8.GetByteCount(span.Slice(i, g)) < 6)
            {
                int n = Encoding.UTF8.GetBytes(span.Slice(i, g), utf8);
                whole = g == 1 || (g == 2 && char.IsHighSurrogate(span[i])) ? TransformChar(text.CodePointAt(i, out _)) : Transform(utf8[..n]);
            }
            if (whole != null)
            {
                b ??= Start(text, i);
                Edits.AppendReplacement(b, text, i, g, whole);
            }
            else
            {
                for (int k = i; k < i + g;)
                {
                    int cp = text.CodePointAt(k, out int units);
                    var r = TransformChar(cp);
                    if (r != null) { b ??= Start(text, k); Edits.AppendReplacement(b, text, k, units, r); }
                    else b?.AppendFrom(text, k, k + units);
                    k += units;
                }
            }
            i += g;
        }
        return b == null ? text : b.Build(text.ByteLevel);
    }

    static NormalizedString.Builder Start(NormalizedString text, int upTo)
    {
        var b = new NormalizedString.Builder(text.Length + 8);
        b.AppendFrom(text, 0, upTo);
        return b;
    }
}
