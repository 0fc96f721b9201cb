namespace ModelVis.Tokenizers;

/// <summary>A [Start, End) range of UTF-16 code units in the original string.</summary>
public readonly record struct Span(int Start, int End)
{
    public int Length => End - Start;
    public override string ToString() => $"[{Start}, {End})";
}

/// <summary>
/// The result of <see cref="Tokenizer.Encode"/>. <paramref name="Offsets"/> are UTF-16 [start, end) spans in the
/// original string (null for tokens the post-processor's template added, such as [CLS] or &lt;s&gt;).
/// <paramref name="IsSpecial"/> is true for template-added tokens and for special added tokens matched in the text
/// (an "&lt;|endoftext|&gt;" the user typed); Hugging Face's special_tokens_mask is <c>Offsets[i] == null</c>.
/// </summary>
public sealed record TokenizedText(int[] Ids, string[] Tokens, Span?[] Offsets, bool[] IsSpecial)
{
    public int Count => Ids.Length;

    /// <summary>True when an <c>Encode</c> with a token bound stopped before the end of the text: there are more tokens than these.</summary>
    public bool Truncated { get; init; }

    /// <summary>The offsets as Python counts them (Unicode code points), derived from the UTF-16 ones.</summary>
    public Span?[] CodePointOffsets(string text)
    {
        // prefix[i] = number of code points in text[..i]
        var prefix = new int[text.Length + 1];
        for (int i = 0; i < text.Length; i++)
            prefix[i + 1] = prefix[i] + (char.IsLowSurrogate(text[i]) && i > 0 && char.IsHighSurrogate(text[i - 1]) ? 0 : 1);
        return Offsets.Select(o => o is { } s ? new Span(prefix[s.Start], prefix[s.End]) : (Span?)null).ToArray();
    }
}

/// <summary>A tokenizer file that cannot be used, with what is wrong and where.</summary>
public sealed class TokenizerException : Exception
{
    public TokenizerException(string message) : base(message) { }
    public TokenizerException(string message, Exception inner) : base(message, inner) { }
}
