using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>Text built from pieces that exercise the pre-tokenizers: words, digits, punctuation, whitespace runs,
/// accents, CJK, astral characters (surrogate pairs in UTF-16) and emoji.</summary>
public sealed record SampleText(string Value)
{
    public override string ToString() => System.Text.Json.JsonSerializer.Serialize(Value);
}

public static class SampleTextArbitrary
{
    static readonly string[] Atoms =
    [
        "a", "b", "Z", "hello", "World", "the", "tokenizer", "x1", " ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", "\r\n",
        "0", "42", "3.14", ".", ",", "'s", "'", "\"", "(", ")", "{", "}", "=", "==", "->", "_", "-", "/", "#", "<", ">", "!", "?",
        "é", "ü", "ß", "ñ", "Ω", "д", "Привет", "中", "文", "日本", "한국", "😀", "🍕", "𝐁", "👍🏽", "é", "ﬁ", "١٢", "—", "…",
    ];

    public static Arbitrary<SampleText> Texts() =>
        Gen.Elements(Atoms).ListOf().Select(parts => new SampleText(string.Concat(parts))).ToArbitrary();
}

[Properties(Arbitrary = [typeof(SampleTextArbitrary)], MaxTest = 150)]
public class PropertyTests
{
    // Byte-level BPE and Llama-style byte-fallback BPE reproduce any text; BERT and t5 normalize (lowercase, spaces).
    public static readonly string[] Lossless = ["gpt2", "roberta-base", "phi-2", "phi-3-mini", "stories260K"];

    [Property]
    public bool Decode_of_encode_round_trips_for_lossless_tokenizers(SampleText text)
    {
        foreach (var name in Lossless)
        {
            var tok = ConformanceTests.Load(name);
            var ids = tok.Encode(text.Value, addSpecialTokens: false).Ids;
            var back = tok.Decode(ids, skipSpecialTokens: false);
            if (back != text.Value) throw new Xunit.Sdk.XunitException($"{name}: decode gave {System.Text.Json.JsonSerializer.Serialize(back)}");
        }
        return true;
    }

    [Property]
    public bool Offsets_are_ordered_inside_the_text_and_cover_every_non_space_character(SampleText text)
    {
        var s = text.Value;
        foreach (var name in ConformanceTests.Names)
        {
            var e = ConformanceTests.Load(name).Encode(s);
            var covered = new bool[s.Length];
            int lastStart = 0;
            for (int i = 0; i < e.Count; i++)
            {
                if (e.Offsets[i] is not { } o) { Assert.True(e.IsSpecial[i], $"{name}: token {i} has no span but is not special"); continue; }
                if (o.Start < lastStart || o.Start < 0 || o.End < o.Start || o.End > s.Length)
                    throw new Xunit.Sdk.XunitException($"{name}: token {i} {e.Tokens[i]} has span {o} after start {lastStart} in a text of {s.Length}");
                lastStart = o.Start;
                for (int k = o.Start; k < o.End; k++) covered[k] = true;
            }
            for (int k = 0; k < s.Length; k++)
                if (!covered[k] && !char.IsWhiteSpace(s[k]))
                    throw new Xunit.Sdk.XunitException($"{name}: character {k} ({s[k]}) is in no token's span");
        }
        return true;
    }

    [Property]
    public bool Template_tokens_are_exactly_the_difference_with_and_without_special_tokens(SampleText text)
    {
        foreach (var name in ConformanceTests.Names)
        {
            var tok = ConformanceTests.Load(name);
            var with = tok.Encode(text.Value, true);
            var without = tok.Encode(text.Value, false);
            var kept = Enumerable.Range(0, with.Count).Where(i => with.Offsets[i] != null).Select(i => with.Ids[i]).ToArray();
            Assert.Equal(without.Ids, kept);
        }
        return true;
    }

    /// <summary>Any UTF-16 string (lone surrogates, control characters, NUL) encodes and decodes without an exception.</summary>
    [Property(MaxTest = 300)]
    public bool Arbitrary_strings_never_throw(NonNull<string> input)
    {
        var s = input.Get;
        foreach (var name in ConformanceTests.Names)
        {
            var tok = ConformanceTests.Load(name);
            var e = tok.Encode(s);
            foreach (var o in e.Offsets)
                if (o is { } span && (span.Start < 0 || span.End > s.Length || span.End < span.Start))
                    throw new Xunit.Sdk.XunitException($"{name}: span {span} outside a text of {s.Length}");
            tok.Decode(e.Ids, skipSpecialTokens: false);
        }
        return true;
    }
}
