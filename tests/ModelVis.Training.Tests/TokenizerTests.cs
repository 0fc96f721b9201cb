using ModelVis.Tests;
using ModelVis.Training.Data;
using ModelVis.Training.Tokenizer;
using Xunit;

namespace ModelVis.Training.Tests;

public class TokenizerTests
{
    static readonly string[] Samples =
    [
        "public static int GetCount(int count, int other)\n{\n    return count + other;\n}\n",
        "    /// <summary>Helpers for the ScoreHelper.</summary>\n\n\n   trailing spaces   \t\n",
        "It's we've they'll I'd you're 12345 3.14 x=y+1; // ünïcödé — 日本語 🙂 emoji",
        "a<|endoftext|>b <|endoftext|>",
        "",
    ];

    static ByteLevelBpe TrainSmall() => ByteLevelBpe.Train(Corpus.Synthetic(3, 120), 400);

    [Fact]
    public void Training_is_deterministic_and_fills_the_vocabulary()
    {
        var a = TrainSmall();
        var b = TrainSmall();
        Assert.Equal(400, a.VocabSize);
        Assert.Equal(399, a.EndOfTextId);
        Assert.Equal(a.Merges, b.Merges);
        // Merged tokens are distinct strings.
        Assert.Equal(a.VocabSize, Enumerable.Range(0, a.VocabSize).Select(a.TokenText).Distinct().Count());
    }

    [Fact]
    public void Encode_then_decode_gives_the_text_back_and_compresses_the_corpus()
    {
        var bpe = TrainSmall();
        foreach (var s in Samples) Assert.Equal(s, bpe.Decode(bpe.Encode(s)));
        var doc = Corpus.Synthetic(99, 1)[0];
        int tokens = bpe.Encode(doc).Length;
        Assert.True(tokens < doc.Length / 2.5, $"{tokens} tokens for {doc.Length} characters");
        Assert.Equal([bpe.EndOfTextId], bpe.Encode("<|endoftext|>"));
    }

    [Fact]
    public void Saved_tokenizer_json_reads_back_in_our_own_reader()
    {
        var bpe = TrainSmall();
        using var dir = new Fixtures.TempDir();
        bpe.Save(dir.Path, 256);
        var again = ByteLevelBpe.Load(dir.Path);
        foreach (var s in Samples) Assert.Equal(bpe.Encode(s), again.Encode(s));
    }

    /// <summary>The project's Hugging Face tokenizer.json reader (ModelVis.Tokenizers) must agree with the trainer's encoder.</summary>
    [Fact]
    public void Project_tokenizer_encodes_exactly_as_the_trainer()
    {
        var bpe = TrainSmall();
        using var dir = new Fixtures.TempDir();
        bpe.Save(dir.Path, 256);
        var hf = ModelVis.Tokenizers.Tokenizer.FromFolder(dir.Path);
        var texts = Samples.Concat(Corpus.Synthetic(5, 3)).Concat(Corpus.ProjectSources().Take(5));
        foreach (var s in texts)
        {
            var ours = bpe.Encode(s);
            var theirs = hf.Encode(s).Ids;
            Assert.Equal(ours, theirs);
            Assert.Equal(s.Replace("<|endoftext|>", ""), hf.Decode(theirs));
        }
    }
}
