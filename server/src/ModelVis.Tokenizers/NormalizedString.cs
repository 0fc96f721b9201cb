using System.Text;

namespace ModelVis.Tokenizers;

/// <summary>
/// A piece of text after normalization, with the span in the original input of each of its UTF-16 units
/// (Hugging Face's NormalizedString, counted in UTF-16 instead of bytes). A slice shares its parent's buffers.
/// When no normalizer changed anything the alignment is the identity plus a shift, and no arrays exist.
/// </summary>
internal readonly struct NormalizedString
{
    readonly string _buffer;
    readonly int _offset;
    readonly int[]? _starts, _ends;   // indexed like _buffer
    readonly int _shift;               // identity alignment: original index = _shift + buffer index
    public int Length { get; }
    /// <summary>Set by the ByteLevel pre-tokenizer: the model sees the text as its UTF-8 bytes mapped to characters.</summary>
    public bool ByteLevel { get; }

    NormalizedString(string buffer, int offset, int length, int[]? starts, int[]? ends, int shift, bool byteLevel)
    {
        _buffer = buffer; _offset = offset; Length = length; _starts = starts; _ends = ends; _shift = shift; ByteLevel = byteLevel;
    }

    /// <summary>An unnormalized part of the original input, starting at <paramref name="originalStart"/>.</summary>
    public static NormalizedString FromOriginal(string text, int start, int length) => new(text, start, length, null, null, 0, false);

    public ReadOnlySpan<char> Span => _buffer.AsSpan(_offset, Length);
    public string Text => _offset == 0 && Length == _buffer.Length ? _buffer : _buffer.Substring(_offset, Length);
    public char this[int i] => _buffer[_offset + i];
    public bool HasIdentityAlignment => _starts == null;

    // With the identity alignment both halves of a surrogate pair map to the whole pair, as HF maps every byte of a character.
    public int OriginalStart(int i)
    {
        int k = _offset + i;
        if (_starts != null) return _starts[k];
        return char.IsLowSurrogate(_buffer[k]) && k > 0 && char.IsHighSurrogate(_buffer[k - 1]) ? _shift + k - 1 : _shift + k;
    }

    public int OriginalEnd(int i)
    {
        int k = _offset + i;
        if (_ends != null) return _ends[k];
        return char.IsHighSurrogate(_buffer[k]) && k + 1 < _buffer.Length && char.IsLowSurrogate(_buffer[k + 1]) ? _shift + k + 2 : _shift + k + 1;
    }

    /// <summary>The original span of the normalized range [start, end) (HF convert_offsets).</summary>
    public Span ToOriginal(int start, int end)
    {
        if (start >= end)
        {
            int p = start < Length ? OriginalStart(start) : Length > 0 ? OriginalEnd(Length - 1) : _shift + _offset;
            return new Span(p, p);
        }
        return new Span(OriginalStart(start), OriginalEnd(end - 1));
    }

    public NormalizedString Slice(int start, int length) => new(_buffer, _offset + start, length, _starts, _ends, _shift, ByteLevel);
    public NormalizedString AsByteLevel() => new(_buffer, _offset, Length, _starts, _ends, _shift, true);

    /// <summary>Builds a new normalized string; each appended unit carries its original span.</summary>
    public sealed class Builder(int capacity)
    {
        readonly StringBuilder _text = new(capacity);
        readonly List<int> _starts = new(capacity), _ends = new(capacity);
        public int Length => _text.Length;

        public void Append(char c, int origStart, int origEnd) { _text.Append(c); _starts.Add(origStart); _ends.Add(origEnd); }

        public void AppendCodePoint(int cp, int origStart, int origEnd)
        {
            if (cp < 0x10000) Append((char)cp, origStart, origEnd);
            else
            {
                var r = new Rune(cp);
                Span<char> two = stackalloc char[2];
                r.EncodeToUtf16(two);
                Append(two[0], origStart, origEnd);
                Append(two[1], origStart, origEnd);
            }
        }

        /// <summary>Appends units [start, end) of <paramref name="source"/> keeping their alignment.</summary>
        public void AppendFrom(in NormalizedString source, int start, int end)
        {
            for (int i = start; i < end; i++) Append(source[i], source.OriginalStart(i), source.OriginalEnd(i));
        }

        public (int Start, int End) LastAlignment => _starts.Count == 0 ? (0, 0) : (_starts[^1], _ends[^1]);

        public NormalizedString Build(bool byteLevel = false) =>
            new(_text.ToString(), 0, _text.Length, _starts.ToArray(), _ends.ToArray(), 0, byteLevel);
    }

    /// <summary>Code point at <paramref name="i"/> and its length in UTF-16 units.</summary>
    public int CodePointAt(int i, out int units)
    {
        char c = this[i];
        if (char.IsHighSurrogate(c) && i + 1 < Length && char.IsLowSurrogate(this[i + 1])) { units = 2; return char.ConvertToUtf32(c, this[i + 1]); }
        units = 1;
        return c;
    }

    /// <summary>
    /// Applies a per-code-point mapping: each output code point takes the alignment of the input code point it came from
    /// (HF transform with changes 0 for the first output character, +1 for the inserted ones). Returns this string when
    /// the mapping changes nothing.
    /// </summary>
    public NormalizedString MapCodePoints(Func<int, int[]?> map)
    {
        // Find the first code point that changes, so unchanged strings cost one pass and no allocation.
        int first = -1;
        for (int i = 0; i < Length;)
        {
            int cp = CodePointAt(i, out int n);
            var m = map(cp);
            if (m != null && !(m.Length == 1 && m[0] == cp)) { first = i; break; }
            i += n;
        }
        if (first < 0) return this;
        var b = new Builder(Length + 8);
        b.AppendFrom(this, 0, first);
        for (int i = first; i < Length;)
        {
            int cp = CodePointAt(i, out int n);
            int s = OriginalStart(i), e = OriginalEnd(i + n - 1);
            var m = map(cp);
            if (m == null) b.AppendFrom(this, i, i + n);
            else foreach (var o in m) b.AppendCodePoint(o, s, e);
            i += n;
        }
        return b.Build(ByteLevel);
    }
}
