using ModelVis.Tests;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>
/// Pipeline parts the fixture tokenizers do not use (NFC/NFKC, Lowercase, Strip, Replace with a regex, Digits,
/// Punctuation, Split behaviours, BPE with ## prefix and &lt;/w&gt; suffix, WordLevel), on small hand-made tokenizer.json files.
/// </summary>
public class ComponentTests
{
    static Tokenizer Make(string json)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, json);
        return Tokenizer.FromJson(path);
    }

    static string WordLevel(string words) =>
        "{\"type\": \"WordLevel\", \"unk_token\": \"[UNK]\", \"vocab\": {" +
        string.Join(", ", words.Split(' ').Prepend("[UNK]").Select((w, i) => $"\"{w}\": {i}")) + "}}";

    static (string Token, Span? Span)[] Pairs(TokenizedText e) => e.Tokens.Zip(e.Offsets).ToArray();

    [Fact]
    public void Nfkc_and_lowercase_keep_spans_of_the_original_characters()
    {
        var tok = Make($$"""
            {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "model": {{WordLevel("fi é x² dž i̇")}} }
            """);
        // ﬁ → fi (both letters take the ligature's span); e + combining acute composes into é; x² → x2 (unknown); Ǆ → DŽ → dž; İ → i̇
        var e = tok.Encode("ﬁ e\u0301 x² Ǆ İ");
        Assert.Equal([1, 2, 0, 4, 5], e.Ids);
        Assert.Equal(new Span(0, 1), e.Offsets[0]);
        Assert.Equal(new Span(2, 3), e.Offsets[1]);  // the composite keeps the span of its starter, as in HF
        Assert.Equal(new Span(5, 7), e.Offsets[2]);
        Assert.Equal(new Span(8, 9), e.Offsets[3]);
        Assert.Equal(new Span(10, 11), e.Offsets[4]);
    }

    [Fact]
    public void Nfd_and_strip_accents()
    {
        var tok = Make($$"""
            {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]},
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "model": {{WordLevel("cafe naive 가")}} }
            """);
        var e = tok.Encode("café naïve 가");
        Assert.Equal([1, 2, 0], e.Ids); // Hangul decomposes into jamo, which are not in the vocabulary
        Assert.Equal(new Span(0, 4), e.Offsets[0]);
        Assert.Equal(new Span(5, 10), e.Offsets[1]);
    }

    [Fact]
    public void Strip_replace_regex_digits_and_punctuation()
    {
        var tok = Make($$"""
            {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": true, "strip_right": true},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": true},
            {"type": "Punctuation", "behavior": "Isolated"}]},
            "model": {{WordLevel("a 1 2 3 , ! b")}} }
            """);
        var e = tok.Encode("  a\t\t123,!b  ");
        Assert.Equal(["a", "1", "2", "3", ",", "!", "b"], e.Tokens);
        Assert.Equal([new Span(2, 3), new Span(5, 6), new Span(6, 7), new Span(7, 8), new Span(8, 9), new Span(9, 10), new Span(10, 11)],
            e.Offsets.Select(o => o!.Value).ToArray());
    }

    [Theory]
    [InlineData("Removed", new[] { "a", "b", "c" })]
    [InlineData("Isolated", new[] { "a", "-", "b", "-", "-", "c" })]
    [InlineData("MergedWithPrevious", new[] { "a-", "b-", "-", "c" })]
    [InlineData("MergedWithNext", new[] { "a", "-b", "-", "-c" })]
    [InlineData("Contiguous", new[] { "a", "-", "b", "--", "c" })]
    public void Split_behaviours(string behavior, string[] expected)
    {
        var vocab = "a b c - -- a- b- -b -c";
        var tok = Make($$"""
            {"pre_tokenizer": {"type": "Split", "pattern": {"String": "-"}, "behavior": "{{behavior}}", "invert": false},
            "model": {{WordLevel(vocab)}} }
            """);
        Assert.Equal(expected, tok.Encode("a-b--c").Tokens);
    }

    [Fact]
    public void Bpe_with_continuing_prefix_and_end_of_word_suffix()
    {
        // Words split on whitespace; "low</w>" built from l, ##o, ##w</w>; "lower" has no merge for e+r.
        var tok = Make("""
            {"pre_tokenizer": {"type": "WhitespaceSplit"}, "decoder": {"type": "BPEDecoder", "suffix": "</w>"},
             "model": {"type": "BPE", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
               "vocab": {"[UNK]": 0, "l": 1, "##o": 2, "##w</w>": 3, "lo": 4, "low</w>": 5, "##w": 6, "##e": 7, "##r</w>": 8, "low": 9},
               "merges": ["l ##o", "lo ##w</w>", "lo ##w"]}}
            """);
        var e = tok.Encode("low lower lox");
        Assert.Equal(["low</w>", "low", "##e", "##r</w>", "lo", "[UNK]"], e.Tokens);
        Assert.Equal(new Span(12, 13), e.Offsets[5]);
        Assert.Equal("low lower", tok.Decode(e.Ids[..4]).Replace("##", ""));
    }

    [Fact]
    public void Bpe_ignore_merges_takes_whole_words_from_the_vocabulary()
    {
        var json = """
            {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
             "model": {"type": "BPE", "ignore_merges": IGNORE, "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "bc": 5},
               "merges": ["b c", "a b"]}}
            """;
        Assert.Equal(["abc"], Make(json.Replace("IGNORE", "true")).Encode("abc").Tokens);
        Assert.Equal(["a", "bc"], Make(json.Replace("IGNORE", "false")).Encode("abc").Tokens);
    }

    [Fact]
    public void Single_word_added_tokens_only_match_whole_words()
    {
        var tok = Make($$"""
            {"added_tokens": [{"id": 9, "content": "cat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false}],
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "model": {{WordLevel("concatenate cat")}} }
            """);
        var e = tok.Encode("cat concatenate");
        Assert.Equal([9, 1], e.Ids);
    }
}
