using ModelVis.Analysis;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Analysis.Tests;

/// <summary>
/// Nearest tokens by cosine against a brute-force computation here: the matrix read whole from the file by the
/// checkpoint reader (dequantized for GGUF), cosines in double precision, sorted.
/// </summary>
public class TokenNeighborsTests
{
    /// <summary>Every other token's cosine with <paramref name="id"/>, largest first (ties to the smaller id).</summary>
    static (int Id, double Cosine)[] BruteForce(float[] matrix, int vocab, int d, int id)
    {
        double Dot(int a, int b)
        {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double)matrix[a * d + j] * matrix[b * d + j];
            return s;
        }
        double qq = Math.Sqrt(Dot(id, id));
        return Enumerable.Range(0, vocab).Where(t => t != id)
            .Select(t => (Id: t, Cosine: Dot(id, t) / (qq * Math.Sqrt(Dot(t, t)))))
            .OrderByDescending(x => x.Cosine).ThenBy(x => x.Id).ToArray();
    }

    static void AssertSameNeighbors((int Id, double Cosine)[] expected, Neighbor[] actual, double tolerance)
    {
        Assert.Equal(10, actual.Length);
        for (int r = 0; r < actual.Length; r++)
        {
            Assert.True(Math.Abs(expected[r].Cosine - actual[r].Cosine) < tolerance, $"rank {r}: cosine {actual[r].Cosine} vs {expected[r].Cosine}");
            // Equal ids unless two candidates' cosines are closer than float32 can tell apart.
            if (actual[r].Id != expected[r].Id)
                Assert.True(Math.Abs(expected.First(e => e.Id == actual[r].Id).Cosine - expected[r].Cosine) < tolerance, $"rank {r}: id {actual[r].Id} vs {expected[r].Id}");
        }
    }

    [Theory]
    [InlineData("stories260K", "model.embed_tokens.weight", TokenMatrix.Embedding, 265)]   // ▁the
    [InlineData("tiny-llama", "model.embed_tokens.weight", TokenMatrix.Embedding, 17)]
    [InlineData("tiny-llama", "lm_head.weight", TokenMatrix.Unembedding, 17)]                // untied head
    [InlineData("tiny-gpt2-bf16", "transformer.wte.weight", TokenMatrix.Embedding, 500)]     // BF16 rows, kept as stored
    [InlineData("tiny-gpt2-f16", "transformer.wte.weight", TokenMatrix.Unembedding, 3)]      // tied: the head is wte
    public void Hugging_Face_checkpoints_match_brute_force(string model, string tensor, TokenMatrix matrix, int id)
    {
        using var lm = ModelLoader.Load(Fixtures.Model(model));
        using var checkpoint = CheckpointLoader.Open(Fixtures.Model(model));
        var reference = BruteForce(checkpoint.ReadFloats(TensorName(checkpoint, tensor)), lm.Config.Vocab, lm.Config.Hidden, id);
        AssertSameNeighbors(reference, TokenNeighbors.Nearest(lm, matrix, id, 10), 1e-5);
    }

    [Theory]
    [InlineData("stories260K-q8_0.gguf")]
    [InlineData("stories260K-f16.gguf")]
    [InlineData("synth-llama-q4_k.gguf")]
    public void Gguf_files_match_brute_force_on_their_dequantized_rows(string file)
    {
        var path = Fixtures.Path_("models", "gguf", file);
        using var lm = ModelLoader.Load(path);
        using var gguf = new GgufFile(path);
        var reference = BruteForce(gguf.ReadFloats("token_embd.weight"), lm.Config.Vocab, lm.Config.Hidden, 40);
        AssertSameNeighbors(reference, TokenNeighbors.Nearest(lm, TokenMatrix.Embedding, 40, 10), 1e-5);
    }

    [Fact]
    public void Stories260K_in_q8_0_finds_nearly_the_cosines_of_its_float32_source()
    {
        using var f32 = ModelLoader.Load(Fixtures.Model("stories260K"));
        using var q8 = ModelLoader.Load(Fixtures.Path_("models", "gguf", "stories260K-q8_0.gguf"));
        var a = TokenNeighbors.Nearest(f32, TokenMatrix.Embedding, 265, 3);
        var b = TokenNeighbors.Nearest(q8, TokenMatrix.Embedding, 265, 3);
        Assert.Equal(a.Select(n => n.Id), b.Select(n => n.Id));
        for (int r = 0; r < 3; r++) Assert.True(Math.Abs(a[r].Cosine - b[r].Cosine) < 5e-3);
    }

    [Fact]
    public void A_token_is_named_by_its_vocabulary_entry_or_by_text_that_is_one_token()
    {
        var stories = ModelTokenizer.Open(Fixtures.Model("stories260K"));
        Assert.Equal(265, stories.SingleTokenId("▁the"));
        Assert.Equal(265, stories.SingleTokenId(" the"));                         // SentencePiece adds the ▁ itself
        Assert.Equal(265, stories.SingleTokenId("the"));
        Assert.Contains("is 6 tokens", Assert.Throws<ModelVis.Tokenizers.TokenizerException>(() => stories.SingleTokenId("hello world")).Message);
        var gpt2 = ModelVis.Tokenizers.Tokenizer.FromFolder(Fixtures.Path_("tokenizers", "gpt2"));
        Assert.Equal(262, gpt2.SingleTokenId(" the"));
        Assert.Equal(262, gpt2.SingleTokenId("Ġthe"));
        Assert.Equal(1169, gpt2.SingleTokenId("the"));
    }

    [Fact]
    public void Bad_ids_and_counts_are_refused()
    {
        using var lm = ModelLoader.Load(Fixtures.Model("tiny-llama"));
        Assert.Contains("outside the vocabulary", Assert.Throws<ModelException>(() => TokenNeighbors.Nearest(lm, TokenMatrix.Embedding, 1000, 5)).Message);
        Assert.Contains("1 or more", Assert.Throws<ModelException>(() => TokenNeighbors.Nearest(lm, TokenMatrix.Embedding, 3, 0)).Message);
    }

    static string TensorName(ICheckpoint checkpoint, string name) =>
        checkpoint.TryGet(name, out _) ? name : name.Replace("transformer.", "");
}
