using System.Globalization;
using ModelVis.Tokenizers.Unicode;

namespace ModelVis.Tokenizers.Normalizers;

/// <summary>
/// BERT's normalizer: drop control characters and turn whitespace into spaces, put spaces around CJK ideographs,
/// strip accents (NFD, then drop non-spacing marks; by default when lowercasing) and lowercase.
/// </summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChineseChars, bool? stripAccents, bool lowercase) : INormalizer
{
    public NormalizedString Normalize(NormalizedString text)
    {
        if (cleanText) text = CleanText(text);
        if (handleChineseChars) text = SpaceOutChinese(text);
        if (stripAccents ?? lowercase) text = StripAccents(text);
        if (lowercase) text = text.MapCodePoints(UnicodeTables.Lowercase);
        return text;
    }

    static readonly int[] Space = [' '];

    static NormalizedString CleanText(NormalizedString text)
    {
        text = Edits.Filter(text, cp => !(cp == 0 || cp == 0xFFFD || IsControl(cp)));
        return text.MapCodePoints(cp => cp != ' ' && IsWhitespace(cp) ? Space : null);
    }

    static bool IsWhitespace(int cp) => cp is '\t' or '\n' or '\r' || (cp <= 0xFFFF ? char.IsWhiteSpace((char)cp) : false);

    /// <summary>Rust's <c>is_other</c> (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return.</summary>
    static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r') return false;
        if (cp >= 0x20 && cp < 0x7F) return false;
        return CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    public static bool IsChineseChar(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    static NormalizedString SpaceOutChinese(NormalizedString text)
    {
        bool any = false;
        for (int i = 0; i < text.Length && !any; i++) any = text[i] >= 0x3400;
        if (!any) return text;
        return text.MapCodePoints(cp => IsChineseChar(cp) ? [' ', cp, ' '] : null);
    }

    static NormalizedString StripAccents(NormalizedString text)
    {
        bool any = false;
        for (int i = 0; i < text.Length && !any; i++) any = text[i] >= UnicodeTables.FirstInteresting;
        if (!any) return text;
        var decomposed = new List<int>(4);
        return text.MapCodePoints(cp =>
        {
            if (cp < UnicodeTables.FirstInteresting) return null;
            decomposed.Clear();
            UnicodeTables.Decompose(cp, false, decomposed);
            var kept = decomposed.Where(d => !UnicodeTables.IsNonspacingMark(d)).ToArray();
            return kept.Length == 1 && kept[0] == cp ? null : kept;
        });
    }
}
