using System.Text;
using System.Text.Json;
using ModelVis.Tests;
using ModelVis.Tokenizers;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>
/// A folder with only a tiktoken file goes through Microsoft.ML.Tokenizers' TiktokenTokenizer. The file is r50k_base
/// built from the gpt2 fixture (tiktoken's r50k ranks are GPT-2's ids: the 256 bytes in byte-level order, then one
/// token per merge), and every tokenizer fixture case must give the reference's ids, tokens and UTF-16 offsets.
/// </summary>
public sealed class TiktokenTests : IDisposable
{
    readonly Fixtures.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>"base64(bytes) rank" per line from vocab.json, checking that merge i made token 256 + i.</summary>
    static string R50kFromGpt2()
    {
        var gpt2 = Fixtures.Path_("tokenizers", "gpt2");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(Path.Combine(gpt2, "vocab.json")))!;
        var merges = File.ReadLines(Path.Combine(gpt2, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version")).ToArray();
        for (int i = 0; i < merges.Length; i++)
            Assert.Equal(256 + i, vocab[merges[i].Replace(" ", "")]);
        var unicodeToByte = ByteLevelInverse();
        var sb = new StringBuilder();
        foreach (var (token, id) in vocab.Where(v => v.Key != "<|endoftext|>").OrderBy(v => v.Value))
            sb.Append(Convert.ToBase64String(token.Select(c => unicodeToByte[c]).ToArray())).Append(' ').Append(id).Append('\n');
        return sb.ToString();
    }

    /// <summary>GPT-2's bytes_to_unicode, inverted (written out here so the test does not trust the code it checks).</summary>
    static Dictionary<char, byte> ByteLevelInverse()
    {
        var map = new Dictionary<char, byte>();
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            map[printable ? (char)b : (char)next++] = (byte)b;
        }
        return map;
    }

    Tokenizer Build(string fileName)
    {
        File.WriteAllText(_dir.File(fileName), R50kFromGpt2());
        return Tokenizer.FromFolder(_dir.Path);
    }

    public static IEnumerable<object[]> Gpt2Cases() => ConformanceTests.CasesOf("gpt2").Select(c => new object[] { c.GetProperty("id").GetString()! });

    [Theory]
    [MemberData(nameof(Gpt2Cases))]
    public void Tiktoken_r50k_matches_the_gpt2_reference(string caseId)
    {
        var tok = Build("tokenizer.model");
        Assert.Contains("tokenizer.model", tok.Source);
        var c = ConformanceTests.CasesOf("gpt2").Single(x => x.GetProperty("id").GetString() == caseId);
        var text = c.GetProperty("text").GetString()!;
        var expected = c.GetProperty("without_special_tokens");
        var actual = tok.Encode(text);
        Assert.Equal(expected.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()), actual.Ids);
        Assert.Equal(expected.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!), actual.Tokens);
        Assert.Equal(expected.GetProperty("offsets_utf16").EnumerateArray().Select(x => new Span(x[0].GetInt32(), x[1].GetInt32())),
            actual.Offsets.Select(o => o!.Value));
        Assert.Equal(c.GetProperty("decode").GetProperty("without_special_ids").GetString(), tok.Decode(actual.Ids, skipSpecialTokens: false));
    }

    [Fact]
    public void A_dot_tiktoken_file_is_found_and_its_special_token_is_special()
    {
        var tok = Build("r50k_base.tiktoken");
        var e = tok.Encode("Hello<|endoftext|> world");
        Assert.Equal([15496, 50256, 995], e.Ids);
        Assert.Equal([false, true, false], e.IsSpecial);
        Assert.Equal(50256, tok.EosTokenId);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(" world", tok.Readable(e.Tokens[2]));
    }

    [Fact]
    public void A_sentencepiece_tokenizer_model_is_not_taken_for_tiktoken()
    {
        File.Copy(Fixtures.Path_("tokenizers", "stories260K", "tok512.model"), _dir.File("tokenizer.model"));
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromFolder(_dir.Path));
        Assert.Contains("no tokenizer.json", e.Message);
    }

    [Fact]
    public void An_unknown_tiktoken_vocabulary_is_refused_with_its_size()
    {
        File.WriteAllLines(_dir.File("mine.tiktoken"), ["IQ== 0", "Ig== 1", "Iw== 2"]);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromFolder(_dir.Path));
        Assert.Contains("3 ranks", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }
}
