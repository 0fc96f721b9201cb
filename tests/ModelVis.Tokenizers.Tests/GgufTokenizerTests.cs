using System.Text;
using System.Text.Json;
using ModelVis.Checkpoints;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>
/// The tokenizer embedded in a GGUF file's metadata (tokenizer.ggml.*) against the Hugging Face reference of the same
/// vocabulary: stories260K's GGUF files (model "llama", SentencePiece with scores) against the reference cases of its
/// tokenizer.json; byte-level BPE ("gpt2") from GGUF-style metadata built out of the gpt2 and phi-2 tokenizer fixtures.
/// </summary>
public class GgufTokenizerTests
{
    static Dictionary<string, object> MetadataOf(string ggufName)
    {
        using var g = new GgufFile(Fixtures.Path_("models", "gguf", ggufName));
        return new Dictionary<string, object>(g.Metadata);
    }

    static readonly Lazy<Tokenizer> Stories = new(() => GgufTokenizer.FromMetadata(MetadataOf("stories260K-f32.gguf"), "stories260K-f32.gguf"));

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    static Span[] Spans(JsonElement e) => e.EnumerateArray().Select(x => new Span(x[0].GetInt32(), x[1].GetInt32())).ToArray();

    /// <summary>
    /// Every stories260K reference case, with and without special tokens: the same ids, token strings, UTF-16 offsets
    /// and special-token mask as the Hugging Face tokenizer of the same SentencePiece model, and the same decodes.
    /// All 65 cases agree, so no case is exempted: llama.cpp's space prefix (added at the start and after every special
    /// token it parses) is what HF's Prepend normalizer does per stretch between added tokens, and for this vocabulary
    /// merging by score gives the same pieces as HF's merge list.
    /// </summary>
    [Theory]
    [InlineData("stories260K-f32.gguf")]
    [InlineData("stories260K-f16.gguf")]
    [InlineData("stories260K-q8_0.gguf")]
    [InlineData("stories260K-q4_0.gguf")]
    [InlineData("synth-llama-q8_0.gguf")]   // the synthetic Llama files carry the same 512-piece vocabulary
    [InlineData("synth-llama-q4_k.gguf")]
    [InlineData("synth-llama-q6_k.gguf")]
    public void Stories260K_matches_its_tokenizer_json_on_every_reference_case(string file)
    {
        var tok = file == "stories260K-f32.gguf" ? Stories.Value : GgufTokenizer.FromMetadata(MetadataOf(file), file);
        var failures = new List<string>();
        var cases = ConformanceTests.CasesOf("stories260K");
        foreach (var c in cases)
        {
            var id = c.GetProperty("id").GetString();
            var text = c.GetProperty("text").GetString()!;
            foreach (var (field, special) in new[] { ("with_special_tokens", true), ("without_special_tokens", false) })
            {
                var expected = c.GetProperty(field);
                var actual = tok.Encode(text, special);
                var ids = Ints(expected.GetProperty("ids"));
                var offsets = Spans(expected.GetProperty("offsets_utf16"));
                var mask = Ints(expected.GetProperty("special_tokens_mask"));
                var tokens = expected.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray();
                if (!ids.SequenceEqual(actual.Ids)) failures.Add($"{id} ({field}): ids [{string.Join(",", ids)}] vs [{string.Join(",", actual.Ids)}]");
                else if (!offsets.SequenceEqual(actual.Offsets.Select(o => o ?? new Span(0, 0))))
                    failures.Add($"{id} ({field}): offsets [{string.Join(",", offsets)}] vs [{string.Join(",", actual.Offsets)}]");
                else if (!mask.SequenceEqual(actual.Offsets.Select(o => o == null ? 1 : 0))) failures.Add($"{id} ({field}): special mask");
                else if (!tokens.SequenceEqual(actual.Tokens)) failures.Add($"{id} ({field}): token strings");
            }
            var d = c.GetProperty("decode");
            var with = Ints(c.GetProperty("with_special_tokens").GetProperty("ids"));
            var without = Ints(c.GetProperty("without_special_tokens").GetProperty("ids"));
            if (d.GetProperty("with_special_ids_keep_special").GetString() != tok.Decode(with, skipSpecialTokens: false)
                || d.GetProperty("with_special_ids_skip_special").GetString() != tok.Decode(with, skipSpecialTokens: true)
                || d.GetProperty("without_special_ids").GetString() != tok.Decode(without, skipSpecialTokens: false))
                failures.Add($"{id}: decode");
        }
        Assert.Equal(65, cases.Length);
        Assert.True(failures.Count == 0, $"{failures.Count} disagreements over {cases.Length} cases:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Stories260K_special_ids_and_vocabulary_come_from_the_metadata()
    {
        var tok = Stories.Value;
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal(2, tok.EosTokenId);
        Assert.Equal(0, tok.UnkTokenId);
        Assert.Null(tok.PadTokenId);
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal("BPE", tok.ModelType);
        Assert.False(tok.IsByteLevel);
        var reference = ConformanceTests.Load("stories260K");
        for (int id = 0; id < 512; id++) Assert.Equal(reference.IdToToken(id), tok.IdToToken(id));
        Assert.Equal("stories260K-f32.gguf", tok.Source);
    }

    /// <summary>
    /// A third, independent reference: the stories260K model fixtures give the ids of the original SentencePiece library
    /// (sentencepiece(tok512.model).encode with BOS) for their texts. Decoding gives the text back.
    /// </summary>
    [Theory]
    [InlineData("short_sentence")]
    [InlineData("story_60_tokens")]
    [InlineData("bos_only")]
    public void Stories260K_gives_the_ids_of_the_sentencepiece_library(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Expected("stories260K", caseName + ".json")));
        var text = doc.RootElement.GetProperty("text").GetString()!;
        var expected = Ints(doc.RootElement.GetProperty("input_ids"));
        var tok = Stories.Value;
        var e = tok.Encode(text);
        Assert.Equal(expected, e.Ids);
        Assert.Equal(text, tok.Decode(e.Ids));
        // Every token's span covers the text it stands for (▁ stands for the space before the word, or for nothing at the start).
        for (int i = 1; i < e.Count; i++)
        {
            var span = e.Offsets[i]!.Value;
            Assert.Equal(tok.Decode([e.Ids[i]]).TrimStart(), text[span.Start..span.End].TrimStart());
        }
    }

    // ---------- the SentencePiece merge rule itself, on a vocabulary small enough to check by hand ----------

    static Dictionary<string, object> SpmMetadata(params (string Token, double Score, int Type)[] vocab) => new()
    {
        ["tokenizer.ggml.model"] = "llama",
        ["tokenizer.ggml.tokens"] = vocab.Select(v => (object)v.Token).ToArray(),
        ["tokenizer.ggml.scores"] = vocab.Select(v => (object)v.Score).ToArray(),
        ["tokenizer.ggml.token_type"] = vocab.Select(v => (object)(long)v.Type).ToArray(),
        ["tokenizer.ggml.bos_token_id"] = 1L,
        ["tokenizer.ggml.eos_token_id"] = 2L,
        ["tokenizer.ggml.unknown_token_id"] = 0L,
    };

    static readonly (string, double, int)[] SmallVocab =
    [
        ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("<0xC3>", 0, 6), ("<0xA9>", 0, 6),
        ("\u2581", -1, 1), ("a", -2, 1), ("b", -3, 1), ("c", -4, 1),
        ("ab", -10, 1), ("bc", -5, 1), ("aa", -6, 1), ("\u2581a", -20, 1), ("\u2581abc", -30, 1),
    ];

    [Fact]
    public void The_pair_whose_token_scores_highest_merges_first_and_the_leftmost_on_ties()
    {
        // "▁abc": ▁a (−20), ab (−10), bc (−5) → bc first (ab first would leave ▁ ab c); then ▁a; then ▁a+bc = ▁abc.
        var tok = GgufTokenizer.FromMetadata(SpmMetadata(SmallVocab), "small.gguf");
        var whole = tok.Encode("abc", false);
        Assert.Equal(["\u2581abc"], whole.Tokens);
        Assert.Equal([new Span(0, 3)], whole.Offsets.Select(o => o!.Value));
        var tok1 = GgufTokenizer.FromMetadata(SpmMetadata(SmallVocab.Where(v => v.Item1 != "\u2581abc").ToArray()), "small.gguf");
        var e = tok1.Encode("abc", false);
        Assert.Equal(["\u2581a", "bc"], e.Tokens);
        Assert.Equal([new Span(0, 1), new Span(1, 3)], e.Offsets.Select(o => o!.Value));
        // "▁aaa" without "▁a": the two "aa" pairs score the same and the left one merges; "▁aa" and "aaa" are not tokens.
        var tok2 = GgufTokenizer.FromMetadata(SpmMetadata(SmallVocab.Where(v => v.Item1 != "\u2581a").ToArray()), "small.gguf");
        var e2 = tok2.Encode("aaa", false);
        Assert.Equal(["\u2581", "aa", "a"], e2.Tokens);
        Assert.Equal([new Span(0, 1), new Span(0, 2), new Span(2, 3)], e2.Offsets.Select(o => o!.Value));
    }

    [Fact]
    public void Characters_outside_the_vocabulary_become_byte_tokens_spanning_the_character_else_unk()
    {
        var tok = GgufTokenizer.FromMetadata(SpmMetadata(SmallVocab), "small.gguf");
        var e = tok.Encode("é", false);
        Assert.Equal(["\u2581", "<0xC3>", "<0xA9>"], e.Tokens);
        Assert.Equal([new Span(0, 1), new Span(0, 1), new Span(0, 1)], e.Offsets.Select(o => o!.Value));
        Assert.Equal("é", tok.Decode(e.Ids));
        // "ü" is C3 BC: <0xBC> is missing, so the character is the unknown token.
        var u = tok.Encode("aü", false);
        Assert.Equal(["\u2581a", "<unk>"], u.Tokens);
        Assert.Equal([new Span(0, 1), new Span(1, 2)], u.Offsets.Select(o => o!.Value));
    }

    [Fact]
    public void Space_prefix_bos_and_eos_follow_the_metadata_flags()
    {
        var m = SpmMetadata(SmallVocab);
        m["tokenizer.ggml.add_space_prefix"] = false;
        m["tokenizer.ggml.add_eos_token"] = true;
        var tok = GgufTokenizer.FromMetadata(m, "small.gguf");
        var e = tok.Encode("a bc");
        Assert.Equal(["<s>", "a", "\u2581", "bc", "</s>"], e.Tokens);
        Assert.Equal([null, new Span(0, 1), new Span(1, 2), new Span(2, 4), null], e.Offsets);
        Assert.Equal("a bc", tok.Decode(e.Ids));
        m["tokenizer.ggml.add_bos_token"] = false;
        Assert.Equal(["a", "\u2581", "bc", "</s>"], GgufTokenizer.FromMetadata(m, "small.gguf").Encode("a bc").Tokens);
        // Default: a ▁ before the text and after each special token in it, as llama.cpp does.
        var d = GgufTokenizer.FromMetadata(SpmMetadata(SmallVocab), "small.gguf").Encode("a</s>bc");
        Assert.Equal(["<s>", "\u2581a", "</s>", "\u2581", "bc"], d.Tokens);
        Assert.Equal([null, new Span(0, 1), new Span(1, 5), new Span(5, 6), new Span(5, 7)], d.Offsets);
    }

    // ---------- byte-level BPE ("gpt2") ----------

    /// <summary>GGUF metadata as llama.cpp's converter writes it for a byte-level BPE tokenizer.json.</summary>
    static Dictionary<string, object> Gpt2StyleMetadata(string fixture, string pre)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path_("tokenizers", fixture, "tokenizer.json")));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        var byId = new SortedDictionary<int, (string Token, int Type)>();
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) byId[p.Value.GetInt32()] = (p.Name, 1);
        foreach (var a in root.GetProperty("added_tokens").EnumerateArray())
            byId[a.GetProperty("id").GetInt32()] = (a.GetProperty("content").GetString()!, a.GetProperty("special").GetBoolean() ? 3 : 4);
        Assert.Equal(byId.Count, byId.Keys.Last() + 1);
        int eot = byId.First(kv => kv.Value.Token == "<|endoftext|>").Key;
        return new Dictionary<string, object>
        {
            ["general.architecture"] = "gpt2",
            ["tokenizer.ggml.model"] = "gpt2",
            ["tokenizer.ggml.pre"] = pre,
            ["tokenizer.ggml.tokens"] = byId.Values.Select(v => (object)v.Token).ToArray(),
            ["tokenizer.ggml.token_type"] = byId.Values.Select(v => (object)(long)v.Type).ToArray(),
            ["tokenizer.ggml.merges"] = model.GetProperty("merges").EnumerateArray().Select(x => (object)x.GetString()!).ToArray(),
            ["tokenizer.ggml.bos_token_id"] = (long)eot,
            ["tokenizer.ggml.eos_token_id"] = (long)eot,
        };
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("phi-2")]   // its 38 whitespace-run added tokens are user-defined tokens in GGUF
    public void Byte_level_bpe_matches_its_tokenizer_json_on_every_reference_case(string fixture)
    {
        var tok = GgufTokenizer.FromMetadata(Gpt2StyleMetadata(fixture, "gpt-2"), fixture + ".gguf");
        var reference = ConformanceTests.Load(fixture);
        Assert.True(tok.IsByteLevel);
        Assert.Equal(reference.VocabSize, tok.VocabSize);
        var failures = new List<string>();
        var cases = ConformanceTests.CasesOf(fixture);
        foreach (var c in cases)
        {
            var text = c.GetProperty("text").GetString()!;
            foreach (var special in new[] { true, false })
            {
                var a = tok.Encode(text, special);
                var b = reference.Encode(text, special);
                if (!b.Ids.SequenceEqual(a.Ids) || !b.Offsets.SequenceEqual(a.Offsets) || !b.Tokens.SequenceEqual(a.Tokens))
                    failures.Add($"{c.GetProperty("id").GetString()} (special {special})");
            }
            var ids = Ints(c.GetProperty("with_special_tokens").GetProperty("ids"));
            if (reference.Decode(ids, false) != tok.Decode(ids, false) || reference.Decode(ids, true) != tok.Decode(ids, true))
                failures.Add($"{c.GetProperty("id").GetString()}: decode");
        }
        Assert.True(cases.Length >= 65);
        Assert.True(failures.Count == 0, $"{failures.Count} disagreements over {cases.Length} cases:\n" + string.Join("\n", failures));
    }

    /// <summary>
    /// Llama 3's and Qwen2's split patterns as their tokenizer.json files write them, run by our tokenizer.json reader
    /// over the gpt2 vocabulary: the GGUF pre-tokenizers "llama-bpe" (with ignore_merges, as Llama 3's file sets it) and
    /// "qwen2" give the same tokens and offsets.
    /// </summary>
    [Theory]
    [InlineData("llama-bpe", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", true)]
    [InlineData("qwen2", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", false)]
    public void Llama3_and_qwen2_split_patterns_match_the_tokenizer_json_form(string pre, string regex, bool ignoreMerges)
    {
        var meta = Gpt2StyleMetadata("gpt2", pre);
        meta["tokenizer.ggml.add_bos_token"] = false;
        var tok = GgufTokenizer.FromMetadata(meta, "x.gguf");
        using var dir = new Fixtures.TempDir();
        var json = File.ReadAllText(Fixtures.Path_("tokenizers", "gpt2", "tokenizer.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node["pre_tokenizer"] = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(new
        {
            type = "Sequence",
            pretokenizers = new object[]
            {
                new { type = "Split", pattern = new { Regex = regex }, behavior = "Isolated", invert = false },
                new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
            },
        }));
        node["model"]!["ignore_merges"] = ignoreMerges;
        File.WriteAllText(dir.File("tokenizer.json"), node.ToJsonString());
        var reference = Tokenizer.FromJson(dir.File("tokenizer.json"));
        int compared = 0;
        foreach (var c in ConformanceTests.CasesOf("gpt2"))
        {
            var text = c.GetProperty("text").GetString()!;
            var a = tok.Encode(text, false);
            var b = reference.Encode(text, false);
            Assert.Equal(b.Ids, a.Ids);
            Assert.Equal(b.Offsets, a.Offsets);
            compared++;
        }
        Assert.Equal(65, compared);
        // The patterns differ where it shows: digits go in threes for Llama 3 and one by one for Qwen2.
        var digits = tok.Encode("1234567", false).Offsets.Select(o => o!.Value).ToArray();
        if (pre == "qwen2") Assert.All(digits, s => Assert.Equal(1, s.Length));
        else
        {
            Assert.Contains(digits, s => s.Start == 3);                 // 123 | 456 | 7
            Assert.DoesNotContain(digits, s => s.Start < 3 && s.End > 3);
        }
    }

    [Fact]
    public void Llama3_pre_tokenizer_adds_bos_by_default_and_gpt2_does_not()
    {
        var llama3 = GgufTokenizer.FromMetadata(Gpt2StyleMetadata("gpt2", "llama-bpe"), "x.gguf");
        Assert.Equal(50256, llama3.Encode("hi").Ids[0]);
        var gpt2 = GgufTokenizer.FromMetadata(Gpt2StyleMetadata("gpt2", "gpt-2"), "x.gguf");
        Assert.Equal(ConformanceTests.Load("gpt2").Encode("hi").Ids, gpt2.Encode("hi").Ids);
    }

    [Fact]
    public void Default_pre_tokenizer_isolates_punctuation_runs_and_groups_of_three_digits()
    {
        var tok = GgufTokenizer.FromMetadata(Gpt2StyleMetadata("gpt2", "default"), "x.gguf");
        // "a+=b 12345": [\p{P}$+<=>^~|]+ isolates "+=", GPT-2's pattern splits the rest, \p{N}+ then [0-9]{3} cuts "12345" to 123|45.
        var e = tok.Encode("a+=b 12345", false);
        var cuts = e.Offsets.Select(o => o!.Value.Start).ToHashSet();
        Assert.Contains(1, cuts);   // "+=" does not join "a"
        Assert.Contains(3, cuts);   // nor "b"
        Assert.Contains(5, cuts);   // \p{N}+ cuts the space off GPT-2's " 12345"
        Assert.Contains(8, cuts);   // 123 | 45
        Assert.Equal("a+=b 12345", tok.Decode(e.Ids));
    }

    // ---------- errors ----------

    static TokenizerException Fails(Dictionary<string, object> m)
    {
        var e = Assert.Throws<TokenizerException>(() => GgufTokenizer.FromMetadata(m, "broken.gguf"));
        Assert.Contains("broken.gguf", e.Message);
        return e;
    }

    [Fact]
    public void Unknown_model_unknown_pre_and_missing_keys_are_named()
    {
        var m = SpmMetadata(SmallVocab);
        m["tokenizer.ggml.model"] = "rwkv";
        Assert.Contains("\"rwkv\"", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m.Remove("tokenizer.ggml.model");
        Assert.Contains("`tokenizer.ggml.model` is missing", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m.Remove("tokenizer.ggml.scores");
        Assert.Contains("`tokenizer.ggml.scores` is missing", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m.Remove("tokenizer.ggml.tokens");
        Assert.Contains("`tokenizer.ggml.tokens` is missing", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m["tokenizer.ggml.scores"] = new object[] { 0.0 };
        Assert.Contains("`tokenizer.ggml.scores` has 1 entries for 14 tokens", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m["tokenizer.ggml.bos_token_id"] = 99L;
        Assert.Contains("`tokenizer.ggml.bos_token_id` is 99", Fails(m).Message);

        m = SpmMetadata(SmallVocab);
        m["tokenizer.ggml.tokens"] = "not an array";
        Assert.Contains("`tokenizer.ggml.tokens` should be an array", Fails(m).Message);

        var g = Gpt2StyleMetadata("gpt2", "tekken-9000");
        Assert.Contains("`tokenizer.ggml.pre` is \"tekken-9000\"", Fails(g).Message);
        g = Gpt2StyleMetadata("gpt2", "gpt-2");
        g.Remove("tokenizer.ggml.merges");
        Assert.Contains("`tokenizer.ggml.merges` is missing", Fails(g).Message);
        g = Gpt2StyleMetadata("gpt2", "gpt-2");
        g["tokenizer.ggml.merges"] = new object[] { "Ġ" };
        Assert.Contains("`tokenizer.ggml.merges`[0]", Fails(g).Message);
    }
}
