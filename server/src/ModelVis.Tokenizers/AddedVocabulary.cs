namespace ModelVis.Tokenizers;

/// <summary>An entry of tokenizer.json's added_tokens.</summary>
internal sealed record AddedToken(int Id, string Content, bool SingleWord, bool LStrip, bool RStrip, bool Normalized, bool Special);

/// <summary>
/// Finds added tokens in text before the model runs (HF AddedVocabulary): leftmost-longest matches, optionally only as
/// whole words, swallowing whitespace to the left (lstrip) or right (rstrip). Tokens with normalized=false are matched in
/// the raw text, the others in the normalized text.
/// </summary>
internal sealed class AddedTokenMatcher
{
    readonly Dictionary<char, AddedToken[]> _byFirstChar;   // longest first
    public bool IsEmpty => _byFirstChar.Count == 0;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>Splits <paramref name="text"/> into (start, end, token or null) parts covering it.</summary>
    public List<(int Start, int End, AddedToken? Token)> Split(ReadOnlySpan<char> text)
    {
        var parts = new List<(int, int, AddedToken?)>();
        int startOffset = 0;
        int i = 0;
        while (i < text.Length)
        {
            AddedToken? match = null;
            if (_byFirstChar.TryGetValue(text[i], out var candidates))
                foreach (var c in candidates)
                    if (text[i..].StartsWith(c.Content, StringComparison.Ordinal)) { match = c; break; }
            if (match == null) { i++; continue; }
            int start = i, stop = i + match.Content.Length;
            i = stop; // the matcher resumes after the match, even when the match is then discarded
            if (match.SingleWord)
            {
                bool startSpace = start == 0 || !IsWordChar(text, start - 1, before: true);
                bool stopSpace = stop == text.Length || !IsWordChar(text, stop, before: false);
                if (!startSpace || !stopSpace) continue;
            }
            if (match.LStrip)
            {
                int s = start;
                while (s > 0 && char.IsWhiteSpace(text[s - 1])) s--;
                start = Math.Max(s, startOffset);
            }
            if (match.RStrip)
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            if (startOffset < start) parts.Add((startOffset, start, null));
            parts.Add((start, stop, match));
            startOffset = stop;
        }
        if (startOffset < text.Length) parts.Add((startOffset, text.Length, null));
        return parts;
    }

    static bool IsWordChar(ReadOnlySpan<char> text, int at, bool before)
    {
        int cp = text[at];
        if (before && char.IsLowSurrogate(text[at]) && at > 0 && char.IsHighSurrogate(text[at - 1])) cp = char.ConvertToUtf32(text[at - 1], text[at]);
        else if (!before && char.IsHighSurrogate(text[at]) && at + 1 < text.Length && char.IsLowSurrogate(text[at + 1])) cp = char.ConvertToUtf32(text[at], text[at + 1]);
        if (cp < 0x80) return char.IsAsciiLetterOrDigit((char)cp) || cp == '_';
        var cat = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat <= System.Globalization.UnicodeCategory.OtherNumber || cat == System.Globalization.UnicodeCategory.ConnectorPunctuation;
    }
}
