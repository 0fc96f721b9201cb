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
        // Letters outside the Basic Multilingual Plane are letters: "(𝐁)" is "(", "𝐁", ")" whatever the merges.
        "(𝐁) 𝐀𝐁𝐂 x𝐁y 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚",
        "",
    ];

    static ByteLevelBpe TrainSmall() => ByteLevelBpe.Train(Corpus.Synthetic(3, 120), 400);

    /// <summary>Training counts the words the reader splits: a letter outside the BMP is not glued to its neighbours.</summary>
    [Fact]
    public void Words_outside_the_basic_plane_split_as_the_reader_splits_them()
    {
        var bpe = ByteLevelBpe.Train(Enumerable.Repeat("(𝐁) (𝐁) (𝐁) (𝐁)", 50), 300);
        var ids = bpe.Encode("(𝐁)");
        Assert.Equal(["(", "𝐁", ")"], ids.Select(id => bpe.Decode([id])).ToArray());
        Assert.Equal(3, ids.Length);
    }

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

    /// <summary>The saved tokenizer.json, read from disk by ModelVis.Tokenizers, gives the ids the model was trained on.</summary>
    [Fact]
    public void Saved_tokenizer_encodes_exactly_as_the_trainer()
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

    /// <summary>
    /// The built-in recipe's tokenizer, trained as the trainer trains it on the project's own sources, reads their
    /// most frequent keywords as single tokens, and CommonWords, what the trainer reports, agrees with encoding each
    /// word. 640 entries: at 512 `const`, `this`, `null`, `void` and `class` were split.
    /// </summary>
    [Fact]
    public void The_built_in_tokenizer_keeps_the_corpus_keywords_whole()
    {
        var texts = Corpus.ProjectSources();
        var bpe = Trainer.TrainTokenizer(texts, TrainOptions.BuiltinDefault);
        string[] keywords = ["return", "public", "static", "var", "new", "int", "string", "float", "double", "if", "for", "const", "this", "null", "void", "class"];
        foreach (var k in keywords)
            Assert.True(bpe.Encode(" " + k).Length == 1, $"` {k}` is {string.Join("|", bpe.Encode(" " + k).Select(id => bpe.TokenText(id)))}");
        var common = bpe.CommonWords(texts, 100);
        Assert.Equal(100, common.Count);
        Assert.True(common.Zip(common.Skip(1)).All(p => p.First.Occurrences >= p.Second.Occurrences), "most frequent first");
        foreach (var (word, _, tokens) in common) Assert.Equal(bpe.Encode(word).Length, tokens);
        foreach (var k in new[] { " return", " public", " static", " var" }) Assert.Contains(common, w => w.Word == k && w.Tokens == 1);
        // About half of the hundred most frequent words are single tokens (51 on the trees measured; 29 with 512 entries).
        Assert.InRange(common.Count(w => w.Tokens == 1), 45, 100);
    }
}
