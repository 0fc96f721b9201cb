using System.Diagnostics;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>Tokenizer files and texts made to hurt: each ends in a <see cref="TokenizerException"/> naming the file, or
/// a bounded result, quickly and without allocating what the input claims.</summary>
public class HostileTokenizerTests
{
    static string Write(Fixtures.TempDir dir, string json)
    {
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void ACatastrophicSplitRegexEndsInAClearErrorQuickly()
    {
        using var dir = new Fixtures.TempDir();
        var path = Write(dir, """
            {"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false},
             "model": {"type": "WordLevel", "vocab": {"a": 0, "[UNK]": 1}, "unk_token": "[UNK]"}}
            """);
        var tok = Tokenizer.FromJson(path);
        var sw = Stopwatch.StartNew();
        // 41 characters: 2^40 ways to split the a's before the final ! fails the $.
        var e = Deadline.Within(30, () => Assert.Throws<TokenizerException>(() => tok.Encode(new string('a', 40) + "!")));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("(a+)+$", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public void AHugeTokenizerFileIsRefusedUnread()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        using (var fs = new FileStream(path, FileMode.Create))
        {
            fs.Write("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, \"x\": \""u8);
            fs.SetLength(100L << 20); // a 100 MB string, sparse on disk
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromJson(path));
        Assert.Contains("limit", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void ATokenizerFileThatIsAFifoOrADeviceIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new Fixtures.TempDir();
        SpecialFiles.Fifo(dir.File("tokenizer.json"));
        Assert.Contains("FIFO", Deadline.Within(10, () => Assert.Throws<TokenizerException>(() => Tokenizer.FromFolder(dir.Path))).Message);
        using var dir2 = new Fixtures.TempDir();
        File.CreateSymbolicLink(dir2.File("tokenizer.json"), "/dev/zero");
        Assert.Contains("character device", Deadline.Within(10, () => Assert.Throws<TokenizerException>(() => Tokenizer.FromFolder(dir2.Path))).Message);
    }

    [Theory]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 2147483647}}}""", "model.vocab")]
    [InlineData("""{"added_tokens": [{"id": 1099511627776, "content": "<x>"}], "model": {"type": "WordLevel", "vocab": {"a": 0}}}""", "added_tokens[0].id")]
    [InlineData("""{"post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 4294967296], "sep": ["[SEP]", 1]}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}""", "post_processor.cls")]
    public void OutOfRangeTokenIdsAreNamed(string json, string field)
    {
        using var dir = new Fixtures.TempDir();
        var path = Write(dir, json);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(field, e.Message);
    }

    static Tokenizer Words(Fixtures.TempDir dir) => Tokenizer.FromJson(Write(dir, """
        {"pre_tokenizer": {"type": "Whitespace"},
         "model": {"type": "WordLevel", "vocab": {"the": 0, "cat": 1, "sat": 2, "[UNK]": 3}, "unk_token": "[UNK]"}}
        """));

    [Fact]
    public void EncodeWithABoundStopsEarlyAndAgreesWithTheFullEncoding()
    {
        using var dir = new Fixtures.TempDir();
        var tok = Words(dir);
        var words = new[] { "the", "cat", "sat", "dog" };
        var text = string.Join(" ", Enumerable.Range(0, 20_000).Select(i => words[i * 7 % 4]));
        var full = tok.Encode(text);
        Assert.False(full.Truncated);
        var bounded = tok.Encode(text, addSpecialTokens: true, maxTokens: 512);
        Assert.True(bounded.Truncated);
        Assert.InRange(bounded.Count, 513, 520);
        Assert.Equal(full.Ids[..513], bounded.Ids[..513]);
        Assert.Equal(full.Offsets[..513], bounded.Offsets[..513]);
        var small = tok.Encode("the cat sat", addSpecialTokens: true, maxTokens: 512);
        Assert.False(small.Truncated);
        Assert.Equal(3, small.Count);
    }

    [Fact]
    public void ThirtyMegabytesOfTextCostWhatTheBoundCosts()
    {
        using var dir = new Fixtures.TempDir();
        var tok = Words(dir);
        var text = string.Concat(Enumerable.Repeat("the cat sat ", (30 << 20) / 12));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var e = tok.Encode(text, addSpecialTokens: true, maxTokens: 512);
        Assert.True(e.Truncated);
        Assert.True(e.Count <= 520);
        // The whole text would take hundreds of MB of offsets and pieces; the bound reads a few KB of it.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, $"{GC.GetAllocatedBytesForCurrentThread() - before} bytes allocated");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void InvalidUtf8IsATokenizerError()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllBytes(path, [.. "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\""u8, 0xff, .. "\": 0}}}"u8]);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromJson(path));
        Assert.Contains("UTF-8", e.Message);
    }
}
