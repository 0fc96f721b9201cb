using System.Text;
using ModelVis.Tokenizers.PreTokenizers;

namespace ModelVis.Tokenizers;

/// <summary>Token strings as a person reads them, for labels in the attention panel.</summary>
public static class TokenDisplay
{
    /// <summary>
    /// Byte-level symbols back to their text (Ġ → space, Ċ → newline; bytes of an incomplete character as &lt;0xNN&gt;),
    /// SentencePiece ▁ → space, WordPiece "##" continuation dropped, byte-fallback &lt;0xNN&gt; of ASCII → the character.
    /// <paramref name="byteLevel"/> null guesses from the token (Ġ or Ċ present).
    /// </summary>
    public static string Readable(string token, string modelType, bool? byteLevel = null)
    {
        if (string.IsNullOrEmpty(token)) return token ?? "";
        if (modelType == "WordPiece") return token.StartsWith("##", StringComparison.Ordinal) && token.Length > 2 ? token[2..] : token;
        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var fb))
            return fb < 0x80 ? ((char)fb).ToString() : token;
        bool bl = byteLevel ?? (token.Contains('Ġ') || token.Contains('Ċ'));
        if (bl && modelType == "BPE" && ByteLevelAlphabet.ToBytes(token) is { } bytes)
        {
            try { return new UTF8Encoding(false, true).GetString(bytes); }
            catch (DecoderFallbackException)
            {
                // Part of a multi-byte character: show the valid prefix and the rest as bytes.
                var sb = new StringBuilder();
                foreach (var b in bytes) sb.Append(b < 0x80 ? ((char)b).ToString() : $"<0x{b:X2}>");
                return sb.ToString();
            }
        }
        return token.Replace('\u2581', ' ');
    }
}
