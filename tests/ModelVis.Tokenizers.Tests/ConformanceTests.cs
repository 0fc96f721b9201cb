using System.Collections.Concurrent;
using System.Text.Json;
using ModelVis.Tests;
using ModelVis.Tokenizers;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>
/// Every case of ../shared/fixtures/expected/tokenizers/*.json (made with the Hugging Face Rust tokenizers): ids, token
/// strings, UTF-16 offsets and decodes must be equal, with and without special tokens.
/// </summary>
public class ConformanceTests
{
    public static readonly string[] Names = ["gpt2", "bert-base-uncased", "bert-base-cased", "roberta-base", "phi-2", "t5-small", "phi-3-mini", "stories260K"];

    static readonly ConcurrentDictionary<string, Tokenizer> Tokenizers = new();
    static readonly ConcurrentDictionary<string, JsonElement[]> Cases = new();

    public static Tokenizer Load(string name) => Tokenizers.GetOrAdd(name, n => Tokenizer.FromFolder(Fixtures.Path_("tokenizers", n)));

    public static JsonElement[] CasesOf(string name) => Cases.GetOrAdd(name, n =>
        JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path_("expected", "tokenizers", n + ".json"))).RootElement.EnumerateArray().ToArray());

    public static IEnumerable<object[]> AllCases() =>
        Names.SelectMany(n => CasesOf(n).Select(c => new object[] { n, c.GetProperty("id").GetString()! }));

    static JsonElement Case(string name, string id) => CasesOf(name).Single(c => c.GetProperty("id").GetString() == id);

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Encode_matches_reference(string tokenizer, string caseId)
    {
        var c = Case(tokenizer, caseId);
        var text = c.GetProperty("text").GetString()!;
        var tok = Load(tokenizer);
        foreach (var (field, special) in new[] { ("with_special_tokens", true), ("without_special_tokens", false) })
        {
            var expected = c.GetProperty(field);
            var actual = tok.Encode(text, special);
            var ids = expected.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var tokens = expected.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray();
            var mask = expected.GetProperty("special_tokens_mask").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var offsets = expected.GetProperty("offsets_utf16").EnumerateArray().Select(x => new Span(x[0].GetInt32(), x[1].GetInt32())).ToArray();
            Assert.Equal(ids, actual.Ids);
            Assert.Equal(tokens, actual.Tokens);
            // Template-added tokens have no span here; the reference writes [0, 0] for them.
            Assert.Equal(mask, actual.Offsets.Select(o => o == null ? 1 : 0).ToArray());
            Assert.Equal(offsets, actual.Offsets.Select(o => o ?? new Span(0, 0)).ToArray());
            var cp = expected.GetProperty("offsets_codepoints").EnumerateArray().Select(x => new Span(x[0].GetInt32(), x[1].GetInt32())).ToArray();
            Assert.Equal(cp, actual.CodePointOffsets(text).Select(o => o ?? new Span(0, 0)).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Decode_matches_reference(string tokenizer, string caseId)
    {
        var c = Case(tokenizer, caseId);
        var tok = Load(tokenizer);
        var with = c.GetProperty("with_special_tokens").GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var without = c.GetProperty("without_special_tokens").GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var d = c.GetProperty("decode");
        Assert.Equal(d.GetProperty("with_special_ids_keep_special").GetString(), tok.Decode(with, skipSpecialTokens: false));
        Assert.Equal(d.GetProperty("with_special_ids_skip_special").GetString(), tok.Decode(with, skipSpecialTokens: true));
        Assert.Equal(d.GetProperty("without_special_ids").GetString(), tok.Decode(without, skipSpecialTokens: false));
        var singles = c.GetProperty("token_decodes").EnumerateArray().Select(x => x.GetString()).ToArray();
        Assert.Equal(singles, without.Select(id => tok.Decode([id], skipSpecialTokens: false)).ToArray());
    }
}
