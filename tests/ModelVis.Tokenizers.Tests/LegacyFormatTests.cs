using ModelVis.Tests;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>Folders without tokenizer.json (GPT-2/RoBERTa vocab.json + merges.txt, BERT vocab.txt) give the same encodings.</summary>
public class LegacyFormatTests
{
    [Theory]
    [InlineData("gpt2", new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })]
    [InlineData("roberta-base", new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })]
    [InlineData("bert-base-uncased", new[] { "vocab.txt", "tokenizer_config.json" })]
    [InlineData("bert-base-cased", new[] { "vocab.txt", "tokenizer_config.json" })]
    public void Encodes_every_reference_case_like_tokenizer_json(string name, string[] files)
    {
        using var dir = new Fixtures.TempDir();
        foreach (var f in files) File.Copy(Fixtures.Path_("tokenizers", name, f), dir.File(f));
        var legacy = Tokenizer.FromFolder(dir.Path);
        var reference = ConformanceTests.Load(name);
        Assert.Equal(reference.ModelType, legacy.ModelType);
        foreach (var c in ConformanceTests.CasesOf(name))
        {
            var text = c.GetProperty("text").GetString()!;
            foreach (var special in new[] { true, false })
            {
                var a = legacy.Encode(text, special);
                var b = reference.Encode(text, special);
                Assert.Equal(b.Ids, a.Ids);
                Assert.Equal(b.Offsets, a.Offsets);
                Assert.Equal(b.Tokens, a.Tokens);
            }
            var ids = reference.Encode(text).Ids;
            Assert.Equal(reference.Decode(ids, false), legacy.Decode(ids, false));
        }
    }
}
