using Xunit;

namespace ModelVis.Tokenizers.Tests;

public class ApiTests
{
    [Fact]
    public void Vocabulary_and_special_token_ids()
    {
        var gpt2 = ConformanceTests.Load("gpt2");
        Assert.Equal("BPE", gpt2.ModelType);
        Assert.Equal(50257, gpt2.VocabSize);
        Assert.Equal(50256, gpt2.EosTokenId);
        Assert.Equal("Ġworld", gpt2.IdToToken(995));
        Assert.Equal(995, gpt2.TokenToId("Ġworld"));
        Assert.Null(gpt2.TokenToId("no such token"));

        var bert = ConformanceTests.Load("bert-base-uncased");
        Assert.Equal("WordPiece", bert.ModelType);
        Assert.Equal(100, bert.UnkTokenId);
        Assert.Equal(0, bert.PadTokenId);

        var t5 = ConformanceTests.Load("t5-small");
        Assert.Equal("Unigram", t5.ModelType);
        Assert.Equal(32100, t5.VocabSize);
        Assert.Equal(1, t5.EosTokenId);
        Assert.Equal(0, t5.PadTokenId);
        Assert.Equal(2, t5.UnkTokenId);

        var llama = ConformanceTests.Load("stories260K");
        Assert.Equal(1, llama.BosTokenId);
        Assert.Equal(2, llama.EosTokenId);
        Assert.Equal(512, llama.VocabSize);
    }

    [Fact]
    public void Readable_tokens()
    {
        Assert.Equal(" world", TokenDisplay.Readable("Ġworld", "BPE", true));
        Assert.Equal("\n", TokenDisplay.Readable("Ċ", "BPE"));
        Assert.Equal(" Hello", TokenDisplay.Readable("▁Hello", "Unigram"));
        Assert.Equal("ing", TokenDisplay.Readable("##ing", "WordPiece"));
        Assert.Equal("\n", TokenDisplay.Readable("<0x0A>", "BPE"));
        Assert.Equal(" ö", TokenDisplay.Readable("ĠÃ¶", "BPE", true));
        Assert.Equal(" <0xF0><0x9F>", TokenDisplay.Readable("ĠðŁ", "BPE", true)); // first bytes of an emoji
        Assert.Equal(" world", ConformanceTests.Load("roberta-base").Readable("Ġworld"));
    }

    [Fact]
    public void Code_point_offsets_count_astral_characters_once()
    {
        var e = ConformanceTests.Load("gpt2").Encode("a 🍕 b", false);
        Assert.Equal(new Span(1, 4), e.Offsets[1]);   // " 🍕" starts with the space; UTF-16 counts the pizza as 2
        var cp = e.CodePointOffsets("a 🍕 b");
        Assert.Equal(new Span(1, 3), cp[1]);
        Assert.Equal(new Span(3, 5), cp[^1]);
    }

    [Fact]
    public void Encode_is_safe_to_call_from_several_threads()
    {
        var tok = ConformanceTests.Load("phi-2");
        var texts = Enumerable.Range(0, 200).Select(i => $"def f{i}(x):\n    return x * {i} + 'ü{i}'").ToArray();
        var expected = texts.Select(t => tok.Encode(t).Ids).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => actual[i] = tok.Encode(texts[i]).Ids);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public void Lone_surrogates_and_control_characters_do_not_break_encoding()
    {
        const string text = "a\uD800b\uDC00 \u0000\u0007\uFEFF\u200D z";
        foreach (var name in ConformanceTests.Names)
        {
            var e = ConformanceTests.Load(name).Encode(text);
            Assert.All(e.Offsets, o => Assert.True(o is null || (o.Value.Start >= 0 && o.Value.End <= text.Length && o.Value.Start <= o.Value.End)));
            Assert.Contains(e.Offsets, o => o is { } s && s.Start <= text.Length - 1 && s.End == text.Length); // "z" is reached
        }
    }
}
