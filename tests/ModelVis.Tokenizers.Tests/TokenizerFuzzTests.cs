using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Tokenizers.Tests;

/// <summary>tokenizer.json fuzzed for a few seconds (<see cref="BoundedFuzzer"/>): every mutated file loads and
/// tokenizes, or fails with a <see cref="TokenizerException"/>, within time and allocation bounds.</summary>
public class TokenizerFuzzTests(ITestOutputHelper output)
{
    static readonly string[] Seeds =
    [
        """{"added_tokens": [{"id": 5, "content": "<s>", "special": true}], "normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}}, "decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "he": 4, "Ġ": 6, "w": 7, "r": 8, "d": 9, "ll": 10}, "merges": ["h e", "l l"], "byte_fallback": false}}""",
        """{"normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]}, "decoder": {"type": "WordPiece", "prefix": "##"}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3, "world": 4, "##s": 5, "1": 6}}}""",
        """{"normalizer": {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}, "decoder": {"type": "Metaspace", "replacement": "▁"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁hello", -1.5], ["▁world", -2.0], ["▁", -3.0], ["h", -4.0], ["e", -4.0], ["l", -4.0], ["o", -4.0]]}}""",
        """{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\p{L}+|\\d{1,3}"}, "behavior": "Isolated", "invert": false}, {"type": "Digits", "individual_digits": true}]}, "model": {"type": "WordLevel", "vocab": {"hello": 0, "world": 1, "[UNK]": 2, "1": 3}, "unk_token": "[UNK]"}}""",
    ];

    [Fact]
    public void TokenizerJson()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        foreach (var seed in Seeds)
        {
            File.WriteAllText(path, seed);
            Assert.NotEmpty(Tokenizer.FromJson(path).Encode("hello worlds 1234").Ids);
        }
        var outcome = BoundedFuzzer.Run("tokenizer.json", 21, 9_000, Seeds.Select(System.Text.Encoding.UTF8.GetBytes).ToArray(), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var tok = Tokenizer.FromJson(path);
            var e = tok.Encode("Hello worlds 1234 héllo 👋 <s>", addSpecialTokens: true, maxTokens: 64);
            tok.Decode(e.Ids);
        }, typeof(TokenizerException));
        output.WriteLine(outcome.ToString());
    }
}
