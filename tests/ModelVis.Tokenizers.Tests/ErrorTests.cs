using ModelVis.Tests;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>Broken tokenizer files give a TokenizerException that names the file and what is wrong.</summary>
public class ErrorTests
{
    static TokenizerException LoadFails(string json)
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromJson(path));
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void Unknown_model_type_is_named()
    {
        var e = LoadFails("""{"model": {"type": "SentencePieceMagic", "vocab": {}}}""");
        Assert.Contains("\"SentencePieceMagic\"", e.Message);
        Assert.Contains("model", e.Message);
    }

    [Fact]
    public void Merge_with_a_token_missing_from_the_vocabulary_is_named()
    {
        var e = LoadFails("""{"model": {"type": "BPE", "vocab": {"a": 0, "ab": 1}, "merges": ["a a", "a b"]}}""");
        Assert.Contains("merge #0", e.Message); // "a a" merges into "aa", which is missing
        Assert.Contains("\"aa\"", e.Message);
        var e2 = LoadFails("""{"model": {"type": "BPE", "vocab": {"a": 0, "ab": 1, "aa": 2}, "merges": ["a a", "a b"]}}""");
        Assert.Contains("merge #1", e2.Message);
        Assert.Contains("\"b\" is not in the vocabulary", e2.Message);
    }

    [Fact]
    public void Malformed_merge_line_is_named()
    {
        var e = LoadFails("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}}""");
        Assert.Contains("model.merges[0]", e.Message);
    }

    [Fact]
    public void Invalid_json_missing_model_and_bad_sections_are_named()
    {
        Assert.Contains("not valid JSON", LoadFails("""{"model": """).Message);
        Assert.Contains("\"model\" section is missing", LoadFails("""{"normalizer": null}""").Message);
        Assert.Contains("normalizer type \"Wavelet\"", LoadFails("""{"normalizer": {"type": "Wavelet"}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}""").Message);
        Assert.Contains("pre_tokenizer.pretokenizers[1] type \"Nope\"",
            LoadFails("""{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Nope"}]}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}""").Message);
        Assert.Contains("special token \"[CLS]\"",
            LoadFails("""{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}], "special_tokens": {}}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}""").Message);
        Assert.Contains("model.vocab[\"a\"]", LoadFails("""{"model": {"type": "WordPiece", "vocab": {"a": "zero"}}}""").Message);
        Assert.Contains("model.vocab[1]", LoadFails("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a"]]}}""").Message);
        Assert.Contains("unk_id 5", LoadFails("""{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["<unk>", 0.0]]}}""").Message);
    }

    [Fact]
    public void Missing_unknown_token_is_reported_when_needed()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, """{"pre_tokenizer": {"type": "WhitespaceSplit"}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0, "##b": 1}}}""");
        var tok = Tokenizer.FromJson(path);
        Assert.Equal([0, 1], tok.Encode("ab").Ids);
        var e = Assert.Throws<TokenizerException>(() => tok.Encode("ab c"));
        Assert.Contains("\"[UNK]\" is not in the WordPiece vocabulary", e.Message);
    }

    [Fact]
    public void Folder_without_tokenizer_files_says_what_it_looked_for()
    {
        using var dir = new Fixtures.TempDir();
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromFolder(dir.Path));
        Assert.Contains("no tokenizer.json, vocab.json + merges.txt, vocab.txt, or tiktoken file (*.tiktoken, tiktoken-format tokenizer.model)", e.Message);
    }
}
