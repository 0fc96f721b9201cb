using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelVis.Tokenizers.PreTokenizers;

/// <summary>Cuts normalized text into the pieces ("words") the model tokenizes one at a time.</summary>
internal interface IPreTokenizer
{
    /// <summary>Appends the pieces of <paramref name="text"/> to <paramref name="output"/> (never empty ones).</summary>
    void PreTokenize(NormalizedString text, List<NormalizedString> output);
}

/// <summary>What happens to the matched delimiter when splitting (HF SplitDelimiterBehavior).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        var current = new List<NormalizedString> { text };
        var next = new List<NormalizedString>();
        foreach (var step in steps)
        {
            next.Clear();
            foreach (var piece in current) step.PreTokenize(piece, next);
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}

/// <summary>HF's NormalizedString.split: matches (and the text between them) regrouped by a behaviour.</summary>
internal static class Splitter
{
    /// <summary>
    /// <paramref name="matches"/> are the sorted, non-overlapping (start, end) ranges that match; the gaps between them are
    /// the non-matching parts.
    /// </summary>
    public static void Split(NormalizedString text, List<(int Start, int End)> matches, SplitBehavior behavior, bool invert, List<NormalizedString> output)
    {
        if (text.Length == 0) return;
        // All parts in order, each flagged as match or not.
        var parts = new List<(int Start, int End, bool Match)>(matches.Count * 2 + 1);
        int prev = 0;
        foreach (var (s, e) in matches)
        {
            if (prev < s) parts.Add((prev, s, invert));
            parts.Add((s, e, !invert));
            prev = e;
        }
        if (prev < text.Length) parts.Add((prev, text.Length, invert));

        var splits = new List<(int Start, int End, bool Remove)>(parts.Count);
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var p in parts) splits.Add((p.Start, p.End, false));
                break;
            case SplitBehavior.Removed:
                foreach (var p in parts) splits.Add((p.Start, p.End, p.Match));
                break;
            case SplitBehavior.Contiguous:
            {
                bool previous = false;
                foreach (var p in parts)
                {
                    if (p.Match == previous && splits.Count > 0) splits[^1] = (splits[^1].Start, p.End, false);
                    else splits.Add((p.Start, p.End, false));
                    previous = p.Match;
                }
                break;
            }
            case SplitBehavior.MergedWithPrevious:
            {
                bool previous = false;
                foreach (var p in parts)
                {
                    if (p.Match && !previous && splits.Count > 0) splits[^1] = (splits[^1].Start, p.End, false);
                    else splits.Add((p.Start, p.End, false));
                    previous = p.Match;
                }
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                bool previous = false;
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.Match && !previous && splits.Count > 0) splits[^1] = (p.Start, splits[^1].End, false);
                    else splits.Add((p.Start, p.End, false));
                    previous = p.Match;
                }
                splits.Reverse();
                break;
            }
        }
        foreach (var (s, e, remove) in splits)
            if (!remove && e > s) output.Add(text.Slice(s, e - s));
    }

    /// <summary>Every code point satisfying <paramref name="predicate"/> is one match (HF's char-predicate pattern).</summary>
    public static List<(int Start, int End)> CharMatches(NormalizedString text, Func<int, bool> predicate)
    {
        var result = new List<(int, int)>();
        for (int i = 0; i < text.Length;)
        {
            int cp = text.CodePointAt(i, out int n);
            if (predicate(cp)) result.Add((i, i + n));
            i += n;
        }
        return result;
    }

    public static bool IsWhitespace(int cp) => cp <= 0xFFFF && char.IsWhiteSpace((char)cp);

    /// <summary>BERT punctuation: ASCII punctuation (which includes $+&lt;=&gt;^`|~) or Unicode P* categories.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 0x80) return cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126);
        return CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    public static bool IsNumeric(int cp) =>
        cp < 0x80 ? cp is >= '0' and <= '9'
            : CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}

/// <summary>Splits on whitespace (removed) and punctuation (isolated).</summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        // Fast path over the common case, equivalent to the two splits.
        int start = -1;
        for (int i = 0; i < text.Length;)
        {
            int cp = text.CodePointAt(i, out int n);
            if (Splitter.IsWhitespace(cp))
            {
                if (start >= 0) { output.Add(text.Slice(start, i - start)); start = -1; }
            }
            else if (Splitter.IsPunctuation(cp))
            {
                if (start >= 0) { output.Add(text.Slice(start, i - start)); start = -1; }
                output.Add(text.Slice(i, n));
            }
            else if (start < 0) start = i;
            i += n;
        }
        if (start >= 0) output.Add(text.Slice(start, text.Length - start));
    }
}

internal sealed class WhitespaceSplitPreTokenizer : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        int start = -1;
        for (int i = 0; i < text.Length;)
        {
            int cp = text.CodePointAt(i, out int n);
            if (Splitter.IsWhitespace(cp)) { if (start >= 0) { output.Add(text.Slice(start, i - start)); start = -1; } }
            else if (start < 0) start = i;
            i += n;
        }
        if (start >= 0) output.Add(text.Slice(start, text.Length - start));
    }
}

/// <summary>HF Whitespace: the regex <c>\w+|[^\w\s]+</c>, whitespace removed.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    static bool IsWord(int cp)
    {
        if (cp < 0x80) return cp is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.ConnectorPunctuation || cp is 0x200C or 0x200D;
    }

    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        int start = -1, kind = 0; // kind 1 = word, 2 = other non-space
        for (int i = 0; i < text.Length;)
        {
            int cp = text.CodePointAt(i, out int n);
            int k = Splitter.IsWhitespace(cp) ? 0 : IsWord(cp) ? 1 : 2;
            if (k != kind)
            {
                if (start >= 0) output.Add(text.Slice(start, i - start));
                start = k == 0 ? -1 : i;
                kind = k;
            }
            i += n;
        }
        if (start >= 0) output.Add(text.Slice(start, text.Length - start));
    }
}

internal sealed class PunctuationPreTokenizer(SplitBehavior behavior) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output) =>
        Splitter.Split(text, Splitter.CharMatches(text, Splitter.IsPunctuation), behavior, false, output);
}

internal sealed class DigitsPreTokenizer(bool individualDigits) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output) =>
        Splitter.Split(text, Splitter.CharMatches(text, Splitter.IsNumeric),
            individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, false, output);
}

internal sealed class CharDelimiterPreTokenizer(int delimiter) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output) =>
        Splitter.Split(text, Splitter.CharMatches(text, cp => cp == delimiter), SplitBehavior.Removed, false, output);
}

/// <summary>HF Split: a literal or regex pattern, a behaviour, optionally inverted.</summary>
internal sealed class SplitPreTokenizer(string? literal, Regex? regex, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void PreTokenize(NormalizedString text, List<NormalizedString> output) =>
        Splitter.Split(text, Normalizers.Matches.Find(text, literal, regex), behavior, invert, output);
}

/// <summary>
/// Metaspace: spaces become ▁ (each taking the space's span), ▁ is prepended per the prepend scheme (taking the first
/// character's span), then the text is split before each ▁.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, string prependScheme, bool split) : IPreTokenizer
{
    readonly string _replacement = replacement.ToString();

    public void PreTokenize(NormalizedString text, List<NormalizedString> output)
    {
        text = Normalizers.Edits.Replace(text, Normalizers.Matches.Find(text, " ", null), _replacement);
        bool prepend = prependScheme switch
        {
            "always" => true,
            "first" => text.Length > 0 && text.OriginalStart(0) == 0,
            _ => false,
        };
        if (prepend && text.Length > 0 && text[0] != replacement) text = Normalizers.Edits.Prepend(text, _replacement);
        if (!split) { if (text.Length > 0) output.Add(text); return; }
        Splitter.Split(text, Splitter.CharMatches(text, cp => cp == replacement), SplitBehavior.MergedWithNext, false, output);
    }
}
