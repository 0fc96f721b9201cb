namespace ModelVis.Tokenizers;

/// <summary>The token list being built by <see cref="Tokenizer.Encode"/>.</summary>
internal sealed class EncodingBuilder
{
    public readonly List<int> Ids = new();
    public readonly List<string> Tokens = new();
    public readonly List<Span?> Offsets = new();
    public readonly List<bool> IsSpecial = new();

    public void Add(int id, string token, Span? offsets, bool special)
    {
        Ids.Add(id); Tokens.Add(token); Offsets.Add(offsets); IsSpecial.Add(special);
    }

    public void Insert(int at, int id, string token)
    {
        Ids.Insert(at, id); Tokens.Insert(at, token); Offsets.Insert(at, null); IsSpecial.Insert(at, true);
    }

    public TokenizedText Build() => new(Ids.ToArray(), Tokens.ToArray(), Offsets.ToArray(), IsSpecial.ToArray());
}

/// <summary>Adds the model's special tokens around the sequence and/or adjusts offsets (HF post_processor).</summary>
internal interface IPostProcessor
{
    void Process(EncodingBuilder encoding, bool addSpecialTokens);
}

/// <summary>A template such as <c>[CLS] $A [SEP]</c>; each special entry may stand for several ids.</summary>
internal sealed class TemplateProcessor(IReadOnlyList<(int[] Ids, string[] Tokens)?> single) : IPostProcessor
{
    public void Process(EncodingBuilder encoding, bool addSpecialTokens)
    {
        if (!addSpecialTokens) return;
        int at = 0;
        foreach (var item in single)
        {
            if (item is not { } special) { at = encoding.Ids.Count; continue; } // the sequence itself ($A)
            for (int k = 0; k < special.Ids.Length; k++) encoding.Insert(at++, special.Ids[k], special.Tokens[k]);
        }
    }
}

/// <summary>
/// Trims leading/trailing spaces (Ġ or whitespace) out of token offsets, as HF's ByteLevel and RoBERTa processors do
/// with trim_offsets; then RoBERTa adds &lt;s&gt; … &lt;/s&gt;.
/// </summary>
internal sealed class TrimOffsetsProcessor(bool trimOffsets, bool addPrefixSpace, (int Id, string Token)? cls, (int Id, string Token)? sep) : IPostProcessor
{
    static readonly char SpaceSymbol = PreTokenizers.ByteLevelAlphabet.ByteToChar[' '];

    public void Process(EncodingBuilder encoding, bool addSpecialTokens)
    {
        if (trimOffsets)
            for (int i = 0; i < encoding.Ids.Count; i++)
            {
                if (encoding.Offsets[i] is not { } o) continue;
                var token = encoding.Tokens[i];
                int lead = 0, trail = 0;
                while (lead < token.Length && IsSpace(token[lead])) lead++;
                while (trail < token.Length && IsSpace(token[token.Length - 1 - trail])) trail++;
                if (lead == 0 && trail == 0) continue;
                int start = o.Start, end = o.End;
                if (lead > 0)
                {
                    bool isFirst = i == 0 || start == 0;
                    if (isFirst && addPrefixSpace && lead == 1) lead = 0;
                    start = Math.Min(start + lead, end);
                }
                if (trail > 0 && end >= trail) end = Math.Max(end - trail, start);
                encoding.Offsets[i] = new Span(start, end);
            }
        if (!addSpecialTokens || cls == null || sep == null) return;
        encoding.Insert(0, cls.Value.Id, cls.Value.Token);
        encoding.Insert(encoding.Ids.Count, sep.Value.Id, sep.Value.Token);
    }

    static bool IsSpace(char c) => c == SpaceSymbol || char.IsWhiteSpace(c);
}

internal sealed class SequenceProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public void Process(EncodingBuilder encoding, bool addSpecialTokens)
    {
        foreach (var s in steps) s.Process(encoding, addSpecialTokens);
    }
}
