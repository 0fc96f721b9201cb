using System.Text.RegularExpressions;
using ModelVis.Tokenizers.Unicode;

namespace ModelVis.Tokenizers.Normalizers;

/// <summary>Rewrites text before pre-tokenization, keeping every character's span in the original.</summary>
internal interface INormalizer
{
    NormalizedString Normalize(NormalizedString text);
}

internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> steps) : INormalizer
{
    public NormalizedString Normalize(NormalizedString text)
    {
        foreach (var s in steps) text = s.Normalize(text);
        return text;
    }
}

internal sealed class LowercaseNormalizer : INormalizer
{
    public NormalizedString Normalize(NormalizedString text) => text.MapCodePoints(UnicodeTables.Lowercase);
}

/// <summary>Removes non-spacing marks (HF StripAccents; pair it with NFD to strip accents from composed letters).</summary>
internal sealed class StripAccentsNormalizer : INormalizer
{
    public NormalizedString Normalize(NormalizedString text) => Edits.Filter(text, cp => !UnicodeTables.IsNonspacingMark(cp));
}

/// <summary>NFC, NFD, NFKC or NFKD from the embedded Unicode tables.</summary>
internal sealed class UnicodeNormalizer(bool compatibility, bool compose) : INormalizer
{
    public NormalizedString Normalize(NormalizedString text)
    {
        var span = text.Span;
        bool trivial = true;
        foreach (var c in span) if (c >= UnicodeTables.FirstInteresting) { trivial = false; break; }
        if (trivial) return text;
        var chars = new List<(int Cp, int Src)>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            chars.Add((text.CodePointAt(i, out int n), i));
            i += n;
        }
        UnicodeTables.Normalize(chars, compatibility, compose);
        return Edits.Rebuild(text, chars);
    }
}

/// <summary>Strips whitespace at the start and/or end.</summary>
internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public NormalizedString Normalize(NormalizedString text)
    {
        int s = 0, e = text.Length;
        if (left) while (s < e && char.IsWhiteSpace(text[s])) s++;
        if (right) while (e > s && char.IsWhiteSpace(text[e - 1])) e--;
        return s == 0 && e == text.Length ? text : text.Slice(s, e - s);
    }
}

/// <summary>Adds a string in front of non-empty text; it takes the span of the first character (HF Prepend).</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public NormalizedString Normalize(NormalizedString text) => text.Length == 0 ? text : Edits.Prepend(text, prefix);
}

/// <summary>Replaces every match of a literal or a regex; the new text takes the span of the match's last character.</summary>
internal sealed class ReplaceNormalizer : INormalizer
{
    readonly string? _literal;
    readonly Regex? _regex;
    readonly string _content;

    public ReplaceNormalizer(string? literal, Regex? regex, string content) { _literal = literal; _regex = regex; _content = content; }

    public NormalizedString Normalize(NormalizedString text) => Edits.Replace(text, Matches.Find(text, _literal, _regex), _content);
}

/// <summary>The edit operations of HF NormalizedString, with its alignment rules.</summary>
internal static class Edits
{
    public static NormalizedString Filter(NormalizedString text, Func<int, bool> keep)
    {
        NormalizedString.Builder? b = null;
        for (int i = 0; i < text.Length;)
        {
            int cp = text.CodePointAt(i, out int n);
            if (!keep(cp))
            {
                if (b == null) { b = new NormalizedString.Builder(text.Length); b.AppendFrom(text, 0, i); }
            }
            else b?.AppendFrom(text, i, i + n);
            i += n;
        }
        return b == null ? text : b.Build(text.ByteLevel);
    }

    /// <summary>Prepend: the prefix and the first character both take the first character's span.</summary>
    public static NormalizedString Prepend(NormalizedString text, string prefix)
    {
        var b = new NormalizedString.Builder(text.Length + prefix.Length);
        int s = text.OriginalStart(0), e = text.OriginalEnd(0);
        text.CodePointAt(0, out int n);
        foreach (var c in prefix) b.Append(c, s, e);
        for (int i = 0; i < n; i++) b.Append(text[i], s, e);
        b.AppendFrom(text, n, text.Length);
        return b.Build(text.ByteLevel);
    }

    /// <summary>Replaces each match (start, end) with <paramref name="content"/>, aligned to the match's last character.</summary>
    public static NormalizedString Replace(NormalizedString text, List<(int Start, int End)> matches, string content)
    {
        if (matches.Count == 0) return text;
        var b = new NormalizedString.Builder(text.Length + matches.Count * content.Length);
        int prev = 0;
        foreach (var (start, end) in matches)
        {
            b.AppendFrom(text, prev, start);
            if (end > start)
            {
                int s = text.OriginalStart(end - 1), e = text.OriginalEnd(end - 1);
                foreach (var c in content) b.Append(c, s, e);
            }
            prev = end;
        }
        b.AppendFrom(text, prev, text.Length);
        return b.Build(text.ByteLevel);
    }

    /// <summary>Rebuilds text from (code point, source unit index) pairs, each taking its source character's span.</summary>
    public static NormalizedString Rebuild(NormalizedString text, List<(int Cp, int Src)> chars)
    {
        var b = new NormalizedString.Builder(chars.Count + 8);
        foreach (var (cp, src) in chars)
        {
            text.CodePointAt(src, out int n);
            b.AppendCodePoint(cp, text.OriginalStart(src), text.OriginalEnd(src + n - 1));
        }
        return b.Build(text.ByteLevel);
    }

    /// <summary>
    /// Replaces <paramref name="oldUnits"/> units at <paramref name="at"/> by <paramref name="replacement"/> (HF's
    /// transform): output character j takes the span of old character min(j, old count − 1).
    /// </summary>
    public static void AppendReplacement(NormalizedString.Builder b, NormalizedString text, int at, int oldUnits, string replacement)
    {
        var oldSpans = new List<(int S, int E)>(4);
        for (int i = at; i < at + oldUnits;)
        {
            text.CodePointAt(i, out int n);
            oldSpans.Add((text.OriginalStart(i), text.OriginalEnd(i + n - 1)));
            i += n;
        }
        int j = 0;
        for (int i = 0; i < replacement.Length; j++)
        {
            int units = char.IsHighSurrogate(replacement[i]) && i + 1 < replacement.Length ? 2 : 1;
            var (s, e) = oldSpans[Math.Min(j, oldSpans.Count - 1)];
            for (int k = 0; k < units; k++) b.Append(replacement[i + k], s, e);
            i += units;
        }
    }
}

/// <summary>Finds the non-overlapping matches of a literal or regex in normalized text.</summary>
internal static class Matches
{
    public static List<(int Start, int End)> Find(NormalizedString text, string? literal, Regex? regex)
    {
        var result = new List<(int, int)>();
        if (literal != null)
        {
            if (literal.Length == 0) return result;
            var span = text.Span;
            int i = 0;
            while (i <= span.Length - literal.Length)
            {
                int k = span[i..].IndexOf(literal, StringComparison.Ordinal);
                if (k < 0) break;
                result.Add((i + k, i + k + literal.Length));
                i += k + literal.Length;
            }
        }
        else if (regex != null)
        {
            foreach (var m in regex.EnumerateMatches(text.Span))
                if (m.Length > 0) result.Add((m.Index, m.Index + m.Length));
        }
        return result;
    }
}
