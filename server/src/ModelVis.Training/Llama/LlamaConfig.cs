using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelVis.Training.Llama;

/// <summary>The hyper-parameters of a Llama model, with the names and meaning of HF's LlamaConfig.</summary>
public sealed record LlamaConfig
{
    public int VocabSize { get; init; } = 640;
    public int HiddenSize { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int IntermediateSize { get; init; } = 192;
    public int MaxPositions { get; init; } = 256;
    public double RopeTheta { get; init; } = 10000;
    public double RmsNormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; }
    public int BosTokenId { get; init; }
    public int EosTokenId { get; init; }

    public int HeadDim => HiddenSize / Heads;

    public void Validate()
    {
        if (HiddenSize % Heads != 0) throw new TrainingException($"hidden size {HiddenSize} is not a multiple of {Heads} heads");
        if (Heads % KvHeads != 0) throw new TrainingException($"{Heads} heads cannot share {KvHeads} key/value heads evenly");
        if (HeadDim % 2 != 0) throw new TrainingException($"head size {HeadDim} must be even for rotary embeddings");
    }

    /// <summary>config.json as transformers writes it for LlamaForCausalLM (sorted keys, every field the class reads).</summary>
    public string ToHuggingFaceJson()
    {
        var o = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenId,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = IntermediateSize,
            ["max_position_embeddings"] = MaxPositions,
            ["mlp_bias"] = false,
            ["model_type"] = "llama",
            ["num_attention_heads"] = Heads,
            ["num_hidden_layers"] = Layers,
            ["num_key_value_heads"] = KvHeads,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_scaling"] = null,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["torch_dtype"] = "float32",
            ["transformers_version"] = "4.40.0",
            ["use_cache"] = true,
            ["vocab_size"] = VocabSize,
        };
        return JsonSerializer.Serialize(o, new JsonSerializerOptions { WriteIndented = true });
    }

    public static LlamaConfig FromHuggingFaceJson(string json)
    {
        var o = JsonNode.Parse(json)?.AsObject() ?? throw new TrainingException("config.json is empty");
        int I(string k, int dflt) => o[k] is JsonValue v && v.TryGetValue<int>(out var x) ? x : dflt;
        double D(string k, double dflt) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? x : dflt;
        int heads = I("num_attention_heads", 4);
        return new LlamaConfig
        {
            VocabSize = I("vocab_size", 512),
            HiddenSize = I("hidden_size", 64),
            Layers = I("num_hidden_layers", 2),
            Heads = heads,
            KvHeads = I("num_key_value_heads", heads),
            IntermediateSize = I("intermediate_size", 192),
            MaxPositions = I("max_position_embeddings", 256),
            RopeTheta = D("rope_theta", 10000),
            RmsNormEps = D("rms_norm_eps", 1e-6),
            TieWordEmbeddings = o["tie_word_embeddings"] is JsonValue t && t.TryGetValue<bool>(out var tie) && tie,
            BosTokenId = I("bos_token_id", 0),
            EosTokenId = I("eos_token_id", 0),
        };
    }
}
