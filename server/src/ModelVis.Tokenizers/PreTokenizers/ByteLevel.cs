using System.Globalization;
using System.Text;

namespace ModelVis.Tokenizers.PreTokenizers;

/// <summary>
/// GPT-2's byte-level alphabet: each of the 256 byte values is shown as a printable character (printable Latin-1 as
/// itself, the rest from U+0100 up), so that every byte sequence is a string of vocabulary symbols.
/// </summary>
public static class ByteLevelAlphabet
{
    internal static readonly char[] ByteToChar = Build();

    /// <summary>The character that stands for byte <paramref name="b"/>.</summary>
    public static char ForByte(byte b) => ByteToChar[b];
    static readonly Dictionary<char, byte> CharToByteMap = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = (b is >= '!' and <= '~') || (b is >= 0xA1 and <= 0xAC) || (b is >= 0xAE and <= 0xFF) ? (char)b : (char)next++;
        return map;
    }

    internal static bool TryCharToByte(char c, out byte b) => CharToByteMap.TryGetValue(c, out b);

    /// <summary>The byte-level form of text (what HF's ByteLevel pre-tokenizer turns a piece into).</summary>
    public static string Map(ReadOnlySpan<char> text) => ToSymbols(Encoding.UTF8.GetBytes(text.ToArray()));

    /// <summary>Bytes shown as byte-level symbols.</summary>
    public static string ToSymbols(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Bytes of a byte-level token, or null if it holds characters outside the alphabet.</summary>
    internal static byte[]? ToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
            if (!TryCharToByte(token[i], out bytes[i])) return null;
        return bytes;
    }
}

/// <summary>
/// HF ByteLevel pre-tokenizer: optionally a leading space, then GPT-2's split pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, then the byte mapping. The
/// pattern is matched by hand over code points (a .NET Regex would see the halves of a surrogate pair, so 𝐁 would not be
/// \p{L}); the byte mapping is left to the model, which knows the piece is byte-level.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        if (text.Length == 0) return;
        if (addPrefixSpace && text[0] != ' ') text = Normalizers.Edits.Prepend(text, " ");
        if (!useRegex) { output.Add(text.AsByteLevel()); return; }
        SplitGpt2(text.Span, (s, e) => output.Add(text.Slice(s, e - s).AsByteLevel()));
    }

    const byte Letter = 1, Number = 2, Space = 3, Other = 4;
    static readonly byte[] AsciiClass = BuildAscii();

    static byte[] BuildAscii()
    {
        var t = new byte[128];
        for (int c = 0; c < 128; c++)
            t[c] = char.IsAsciiLetter((char)c) ? Letter : char.IsAsciiDigit((char)c) ? Number : char.IsWhiteSpace((char)c) ? Space : Other;
        return t;
    }

    static byte Classify(ReadOnlySpan<char> s, int i, out int units)
    {
        char c = s[i];
        units = 1;
        if (c < 128) return AsciiClass[c];
        int cp = c;
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { cp = char.ConvertToUtf32(c, s[i + 1]); units = 2; }
        else if (char.IsWhiteSpace(c)) return Space;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter: case UnicodeCategory.LowercaseLetter: case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter: case UnicodeCategory.OtherLetter:
                return Letter;
            case UnicodeCategory.DecimalDigitNumber: case UnicodeCategory.LetterNumber: case UnicodeCategory.OtherNumber:
                return Number;
            default:
                return Other;
        }
    }

    /// <summary>End of the run of characters of class <paramref name="cls"/> starting at <paramref name="i"/>.</summary>
    static int RunEnd(ReadOnlySpan<char> s, int i, byte cls)
    {
        while (i < s.Length)
        {
            if (Classify(s, i, out int n) != cls) break;
            i += n;
        }
        return i;
    }

    /// <summary>Calls <paramref name="emit"/> with each (start, end) match of the GPT-2 pattern, covering all of <paramref name="s"/>.</summary>
    public static void SplitGpt2(ReadOnlySpan<char> s, Action<int, int> emit)
    {
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '\'' && i + 1 < s.Length)
            {
                char c1 = s[i + 1];
                int len = c1 is 's' or 't' or 'm' or 'd' ? 2
                    : i + 2 < s.Length && ((c1 == 'r' && s[i + 2] == 'e') || (c1 == 'v' && s[i + 2] == 'e') || (c1 == 'l' && s[i + 2] == 'l')) ? 3 : 0;
                if (len > 0) { emit(i, i + len); i += len; continue; }
            }
            int j = c == ' ' && i + 1 < s.Length ? i + 1 : i;
            byte cls = Classify(s, j, out _);
            if (cls != Space)
            {
                int end = RunEnd(s, j, cls);
                emit(i, end);
                i = end;
                continue;
            }
            // Whitespace: \s+(?!\S) leaves the last space to the next word; \s+ takes a lone one.
            int wsEnd = RunEnd(s, i, Space);
            if (wsEnd < s.Length && wsEnd - i > 1) wsEnd--;
            emit(i, wsEnd);
            i = wsEnd;
        }
    }
}
