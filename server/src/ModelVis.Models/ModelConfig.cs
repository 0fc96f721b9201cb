using System.Text.Json;
using ModelVis.IO;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>A model problem a person can act on (unsupported architecture, a config or weights that do not fit).</summary>
public sealed class ModelException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The architecture families the engine computes, and the Hugging Face model_types each covers.</summary>
public enum ModelFamily { Gpt2, Bert, Llama, Qwen3, Phi3, Olmo2, Gemma2, Gemma3, GptNeoX, T5 }

/// <summary>
/// What a forward pass needs to know about a model, read from a Hugging Face <c>config.json</c>.
/// Names follow the meaning, not any one family's keys (GPT-2's <c>n_embd</c> and BERT's <c>hidden_size</c> are both <see cref="Hidden"/>).
/// </summary>
public sealed record ModelConfig
{
    public static readonly IReadOnlyDictionary<string, ModelFamily> SupportedModelTypes = new Dictionary<string, ModelFamily>
    {
        ["gpt2"] = ModelFamily.Gpt2,
        ["bert"] = ModelFamily.Bert,
        ["roberta"] = ModelFamily.Bert,
        ["xlm-roberta"] = ModelFamily.Bert,
        ["distilbert"] = ModelFamily.Bert,
        ["llama"] = ModelFamily.Llama,
        ["mistral"] = ModelFamily.Llama,
        ["qwen2"] = ModelFamily.Llama,
        ["qwen3"] = ModelFamily.Qwen3,
        ["phi3"] = ModelFamily.Phi3,
        ["olmo2"] = ModelFamily.Olmo2,
        ["gemma2"] = ModelFamily.Gemma2,
        ["gemma3_text"] = ModelFamily.Gemma3,
        ["gemma3"] = ModelFamily.Gemma3,
        ["gpt_neox"] = ModelFamily.GptNeoX,
        ["t5"] = ModelFamily.T5,
    };

    public static string SupportedList => string.Join(", ", SupportedModelTypes.Keys);

    public required string ModelType { get; init; }
    public required ModelFamily Family { get; init; }
    /// <summary>Layers of the stack that makes the logits: the decoder of an encoder-decoder (T5's num_decoder_layers).</summary>
    public required int Layers { get; init; }
    /// <summary>Layers of the encoder of an encoder-decoder (T5's num_layers); 0 for a decoder-only or encoder-only model.</summary>
    public int EncoderLayers { get; init; }
    /// <summary>An encoder-decoder (T5): the input ids go through the encoder, the decoder ids through the decoder, which attends to both.</summary>
    public bool IsEncoderDecoder => EncoderLayers > 0;
    public required int Heads { get; init; }
    /// <summary>Key/value heads (fewer than <see cref="Heads"/> with grouped-query attention).</summary>
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int Hidden { get; init; }
    public required int Intermediate { get; init; }
    public required int Vocab { get; init; }
    public required int MaxPositions { get; init; }
    /// <summary>Decoder (each token sees only earlier ones) or encoder (bidirectional).</summary>
    public required bool IsCausal { get; init; }
    /// <summary>Whether the checkpoint has an output head, so a forward pass can give logits.</summary>
    public bool HasLmHead { get; init; } = true;

    public required float NormEps { get; init; }
    public required string Activation { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public double RopeTheta { get; init; } = 10000;
    public RopeScaling? RopeScaling { get; init; }
    public int TypeVocab { get; init; }
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int SlidingWindow { get; init; }
    /// <summary>Which layers use <see cref="SlidingWindow"/> (Hugging Face <c>layer_types</c>); null = every layer.</summary>
    public bool[]? SlidingLayers { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }

    /// <summary>Channels of each head that rotate (Phi-3 partial_rotary_factor, GPT-NeoX rotary_pct); the whole head by default.</summary>
    public int RotaryDim { get => _rotaryDim ?? HeadDim; init => _rotaryDim = value; }
    int? _rotaryDim;
    /// <summary>RoPE base of the sliding (local) layers when it differs from <see cref="RopeTheta"/> (Gemma 3's rope_local_base_freq).</summary>
    public double? RopeLocalTheta { get; init; }
    /// <summary>Scores are divided by √ of this (Gemma's query_pre_attn_scalar); null = √head_dim.</summary>
    public double? QueryPreAttnScalar { get; init; }
    /// <summary>Attention scores soft-capped to ±this before the mask (Gemma 2's attn_logit_softcapping); 0 = none.</summary>
    public float AttnLogitSoftcap { get; init; }
    /// <summary>Logits soft-capped to ±this (Gemma's final_logit_softcapping); 0 = none.</summary>
    public float FinalLogitSoftcap { get; init; }
    /// <summary>T5: relative positions fall into this many buckets (relative_attention_num_buckets) ...</summary>
    public int RelativeAttentionBuckets { get; init; }
    /// <summary>... the last of them for every distance from this one on (relative_attention_max_distance).</summary>
    public int RelativeAttentionMaxDistance { get; init; }
    /// <summary>T5: the feed-forward is gated, wo(act(wi_0·x) * wi_1·x) (feed_forward_proj "gated-…"), instead of wo(act(wi·x)).</summary>
    public bool GatedMlp { get; init; }
    /// <summary>The id an encoder-decoder's decoder input starts with (decoder_start_token_id).</summary>
    public int DecoderStartTokenId { get; init; }
    /// <summary>GPT-NeoX: attention and MLP both read the block input (use_parallel_residual).</summary>
    public bool ParallelResidual { get; init; }

    /// <summary>Reads <c>config.json</c> from a model folder.</summary>
    public static ModelConfig FromFolder(string dir)
    {
        var path = File.Exists(dir) ? dir : Path.Combine(dir, "config.json");
        if (!File.Exists(path))
            throw new ModelException($"{dir}: no config.json (a Hugging Face model folder has config.json beside its weights)");
        try
        {
            // A config.json is a few KB; a link to /dev/zero or a FIFO is refused before it is opened.
            var bytes = InputFile.ReadAllBytes(path, MaxConfigBytes, m => new ModelException(m));
            // JsonDocument checks structure, not the bytes of strings: invalid UTF-8 would throw later, from any string read.
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new ModelException($"{path}: not valid UTF-8 text");
            using var doc = JsonDocument.Parse(bytes);
            return Parse(doc.RootElement, path);
        }
        catch (JsonException e) { throw new ModelException($"{path}: not valid JSON ({e.Message})", e); }
    }

    const long MaxConfigBytes = 16L << 20;

    public static ModelConfig Parse(JsonElement json) => Parse(json, "config.json");

    /// <summary>Parses and validates a config; every message names <paramref name="file"/> and the field.</summary>
    public static ModelConfig Parse(JsonElement json, string file)
    {
        if (json.ValueKind != JsonValueKind.Object) throw new ModelException($"{file} is not a JSON object");
        var c = new Reader(json, file);
        string type = c.String("model_type") ?? throw new ModelException($"config.json has no \"model_type\" (supported: {SupportedList})");
        if (!SupportedModelTypes.TryGetValue(type, out var family))
            throw new ModelException($"model_type \"{type}\" is not supported; supported model types: {SupportedList}");
        return family switch
        {
            ModelFamily.Gpt2 => ParseGpt2(c, type),
            ModelFamily.Bert => type == "distilbert" ? ParseDistilBert(c, type) : ParseBert(c, type),
            ModelFamily.Gemma2 or ModelFamily.Gemma3 => ParseGemma(c, type, family),
            ModelFamily.GptNeoX => ParseGptNeoX(c, type),
            ModelFamily.T5 => ParseT5(c, type),
            _ => ParseLlama(c, type, family),
        };
    }

    static ModelConfig ParseGpt2(Reader c, string type)
    {
        int d = c.Required(type, "n_embd", "hidden_size");
        int heads = c.Required(type, "n_head", "num_attention_heads");
        return new ModelConfig
        {
            ModelType = type, Family = ModelFamily.Gpt2, IsCausal = true,
            Layers = c.Required(type, "n_layer", "num_hidden_layers"),
            Heads = heads, KvHeads = heads, HeadDim = HeadDimOf(type, d, heads), Hidden = d,
            Intermediate = c.Int("n_inner") ?? 4 * d,
            Vocab = c.Required(type, "vocab_size"),
            MaxPositions = c.Required(type, "n_positions", "max_position_embeddings"),
            NormEps = (float)(c.Double("layer_norm_epsilon") ?? 1e-5),
            Activation = c.String("activation_function") ?? "gelu_new",
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? true,
            BosTokenId = c.Int("bos_token_id"), EosTokenIds = c.Ints("eos_token_id"),
            AttentionBias = true, MlpBias = true,
        }.Checked(c.File);
    }

    static ModelConfig ParseBert(Reader c, string type)
    {
        int d = c.Required(type, "hidden_size");
        int heads = c.Required(type, "num_attention_heads");
        var positionType = c.String("position_embedding_type") ?? "absolute";
        if (positionType != "absolute")
            throw new ModelException($"{type}: position_embedding_type \"{positionType}\" is not supported (only \"absolute\")");
        return new ModelConfig
        {
            ModelType = type, Family = ModelFamily.Bert, IsCausal = false,
            Layers = c.Required(type, "num_hidden_layers"),
            Heads = heads, KvHeads = heads, HeadDim = HeadDimOf(type, d, heads), Hidden = d,
            Intermediate = c.Required(type, "intermediate_size"),
            Vocab = c.Required(type, "vocab_size"),
            MaxPositions = c.Required(type, "max_position_embeddings"),
            NormEps = (float)(c.Double("layer_norm_eps") ?? 1e-12),
            Activation = c.String("hidden_act") ?? "gelu",
            TypeVocab = c.Int("type_vocab_size") ?? 2,
            PadTokenId = c.Int("pad_token_id") ?? (type == "bert" ? 0 : 1),
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? true,
            BosTokenId = c.Int("bos_token_id"), EosTokenIds = c.Ints("eos_token_id"),
            AttentionBias = true, MlpBias = true,
        }.Checked(c.File);
    }

    static ModelConfig ParseDistilBert(Reader c, string type)
    {
        int d = c.Required(type, "dim", "hidden_size");
        int heads = c.Required(type, "n_heads", "num_attention_heads");
        return new ModelConfig
        {
            ModelType = type, Family = ModelFamily.Bert, IsCausal = false,
            Layers = c.Required(type, "n_layers", "num_hidden_layers"),
            Heads = heads, KvHeads = heads, HeadDim = HeadDimOf(type, d, heads), Hidden = d,
            Intermediate = c.Required(type, "hidden_dim", "intermediate_size"),
            Vocab = c.Required(type, "vocab_size"),
            MaxPositions = c.Required(type, "max_position_embeddings"),
            NormEps = 1e-12f,
            Activation = c.String("activation") ?? "gelu",
            TypeVocab = 0,
            PadTokenId = c.Int("pad_token_id") ?? 0,
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? true,
            AttentionBias = true, MlpBias = true,
        }.Checked(c.File);
    }

    /// <summary>Llama, Mistral, Qwen2, Qwen3, Phi-3 and OLMo 2: the same keys, with the differences noted.</summary>
    static ModelConfig ParseLlama(Reader c, string type, ModelFamily family)
    {
        int d = c.Required(type, "hidden_size");
        int heads = c.Required(type, "num_attention_heads");
        int kv = c.Int("num_key_value_heads") ?? heads;
        if (kv <= 0 || heads % kv != 0)
            throw new ModelException($"{c.File}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv} ({type})");
        int layers = c.Required(type, "num_hidden_layers");
        int maxPositions = c.Int("max_position_embeddings") ?? (type == "phi3" ? 4096 : 2048);
        int headDim = type is "phi3" or "olmo2" ? HeadDimOf(type, d, heads) : c.Int("head_dim") ?? HeadDimOf(type, d, heads);
        // Mistral and Phi-3 slide on every layer; Qwen only with use_sliding_window, and then only from max_window_layers on.
        int window = 0;
        bool[]? slidingLayers = null;
        if (type is "mistral" or "phi3") window = c.Int("sliding_window") ?? 0;
        else if (type is "qwen2" or "qwen3" && (c.Bool("use_sliding_window") ?? false))
        {
            window = c.Int("sliding_window") ?? 0;
            int from = c.Int("max_window_layers") ?? layers;
            slidingLayers = LayerTypes(c, type, layers) ?? Enumerable.Range(0, layers).Select(i => i >= from).ToArray();
        }
        return new ModelConfig
        {
            ModelType = type, Family = family, IsCausal = true,
            Layers = layers,
            Heads = heads, KvHeads = kv, HeadDim = headDim, Hidden = d,
            Intermediate = c.Required(type, "intermediate_size"),
            Vocab = c.Required(type, "vocab_size"),
            MaxPositions = maxPositions,
            NormEps = (float)(c.Double("rms_norm_eps") ?? 1e-6),
            Activation = c.String("hidden_act") ?? "silu",
            RopeTheta = c.Double("rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(c, type, maxPositions),
            // Phi-4-mini's partial_rotary_factor: rotary_dim = int(head_dim · factor).
            RotaryDim = (int)(headDim * (c.Double("partial_rotary_factor") ?? 1.0)),
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? false,
            BosTokenId = c.Int("bos_token_id"), EosTokenIds = c.Ints("eos_token_id"),
            SlidingWindow = window, SlidingLayers = slidingLayers,
            // Qwen2 always has q/k/v biases (and no o_proj bias); Llama/Mistral only when attention_bias says so.
            AttentionBias = type == "qwen2" || (c.Bool("attention_bias") ?? false),
            MlpBias = c.Bool("mlp_bias") ?? false,
        }.Checked(c.File);
    }

    /// <summary>
    /// Gemma 2 and Gemma 3 (text). Transformers leaves keys equal to their defaults out of config.json, and a
    /// multimodal <c>gemma3</c> config keeps the language model's keys in <c>text_config</c>, often only those that differ.
    /// </summary>
    static ModelConfig ParseGemma(Reader c, string type, ModelFamily family)
    {
        bool gemma3 = family == ModelFamily.Gemma3;
        if (type == "gemma3")
        {
            if (!c.Json.TryGetProperty("text_config", out var text) || text.ValueKind != JsonValueKind.Object)
                throw new ModelException("gemma3: config.json has no \"text_config\" object (the language model's settings)");
            var outer = c;
            c = new Reader(text, c.File + " (text_config)");
            // Gemma3Config ties the head to the embedding at the top level.
            if (outer.Bool("tie_word_embeddings") is { } tiedOuter && c.Bool("tie_word_embeddings") is null) c = c.With("tie_word_embeddings", tiedOuter);
        }
        // Gemma2Config / Gemma3TextConfig defaults (the 2B / 1B-class shapes), for keys a saved config leaves out.
        int d = c.Int("hidden_size") ?? 2304;
        int heads = c.Int("num_attention_heads") ?? 8;
        int kv = c.Int("num_key_value_heads") ?? 4;
        if (kv <= 0 || heads % kv != 0)
            throw new ModelException($"{c.File}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv} ({type})");
        int layers = c.Int("num_hidden_layers") ?? 26;
        int maxPositions = c.Int("max_position_embeddings") ?? (gemma3 ? 131072 : 8192);
        // Gemma 2 slides on even layers, Gemma 3 on all but every sliding_window_pattern-th; layer_types, when written, says it outright.
        int pattern = c.Int("sliding_window_pattern") ?? c.Int("_sliding_window_pattern") ?? (gemma3 ? 6 : 2);
        var sliding = LayerTypes(c, type, layers) ?? Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0).ToArray();
        return new ModelConfig
        {
            ModelType = type, Family = family, IsCausal = true,
            Layers = layers,
            Heads = heads, KvHeads = kv, HeadDim = c.Int("head_dim") ?? 256, Hidden = d,
            Intermediate = c.Int("intermediate_size") ?? 9216,
            Vocab = c.Int("vocab_size") ?? (gemma3 ? 262208 : 256000),
            MaxPositions = maxPositions,
            NormEps = (float)(c.Double("rms_norm_eps") ?? 1e-6),
            Activation = c.String("hidden_activation") ?? c.String("hidden_act") ?? "gelu_pytorch_tanh",
            RopeTheta = c.Double("rope_theta") ?? (gemma3 ? 1e6 : 10000),
            RopeLocalTheta = gemma3 ? c.Double("rope_local_base_freq") ?? 10000 : null,
            RopeScaling = ParseRopeScaling(c, type, maxPositions),
            QueryPreAttnScalar = c.Double("query_pre_attn_scalar") ?? 256,
            // A key written as null means no cap; a key left out means the default (50 and 30 for Gemma 2, none for Gemma 3).
            // Gemma 3's attention never passes its attn_logit_softcapping on (transformers 4.50+), so it is not applied.
            AttnLogitSoftcap = gemma3 ? 0 : (float)(c.Has("attn_logit_softcapping") ? c.Double("attn_logit_softcapping") ?? 0 : 50),
            FinalLogitSoftcap = (float)(c.Has("final_logit_softcapping") ? c.Double("final_logit_softcapping") ?? 0 : gemma3 ? 0 : 30),
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? true,
            PadTokenId = c.Int("pad_token_id"), BosTokenId = c.Int("bos_token_id"), EosTokenIds = c.Ints("eos_token_id"),
            SlidingWindow = c.Int("sliding_window") ?? 4096, SlidingLayers = sliding,
            AttentionBias = c.Bool("attention_bias") ?? false,
        }.Checked(c.File);
    }

    /// <summary>GPT-NeoX (Pythia): rotary on rotary_pct of each head (newer configs: partial_rotary_factor, rope_theta).</summary>
    static ModelConfig ParseGptNeoX(Reader c, string type)
    {
        int d = c.Required(type, "hidden_size");
        int heads = c.Required(type, "num_attention_heads");
        int headDim = HeadDimOf(type, d, heads);
        int maxPositions = c.Int("max_position_embeddings") ?? 2048;
        return new ModelConfig
        {
            ModelType = type, Family = ModelFamily.GptNeoX, IsCausal = true,
            Layers = c.Required(type, "num_hidden_layers"),
            Heads = heads, KvHeads = heads, HeadDim = headDim, Hidden = d,
            Intermediate = c.Int("intermediate_size") ?? 4 * d,
            Vocab = c.Required(type, "vocab_size"),
            MaxPositions = maxPositions,
            NormEps = (float)(c.Double("layer_norm_eps") ?? 1e-5),
            Activation = c.String("hidden_act") ?? "gelu",
            RopeTheta = c.Double("rotary_emb_base") ?? c.Double("rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(c, type, maxPositions),
            RotaryDim = (int)(headDim * (c.Double("rotary_pct") ?? c.Double("partial_rotary_factor") ?? 0.25)),
            ParallelResidual = c.Bool("use_parallel_residual") ?? true,
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? false,
            BosTokenId = c.Int("bos_token_id"), EosTokenIds = c.Ints("eos_token_id"),
            AttentionBias = c.Bool("attention_bias") ?? true, MlpBias = true,
        }.Checked(c.File);
    }

    /// <summary>
    /// T5 (t5-small … t5-11b, the v1.1 and flan-t5 checkpoints). Keys left out take T5Config's defaults (t5-small's
    /// config.json has no num_decoder_layers, relative_attention_max_distance or feed_forward_proj). feed_forward_proj is
    /// "ACT" or "gated-ACT", "gated-gelu" meaning the tanh GELU; a dense_act_fn or is_gated_act key overrides what it implies.
    /// </summary>
    static ModelConfig ParseT5(Reader c, string type)
    {
        var projection = c.String("feed_forward_proj") ?? "relu";
        var parts = projection.Split('-');
        if (parts.Length > 2 || (parts.Length == 2 && parts[0] != "gated"))
            throw new ModelException($"{type}: feed_forward_proj \"{projection}\" is not of the form \"ACT\" or \"gated-ACT\" (e.g. \"relu\", \"gated-gelu\")");
        int layers = c.Int("num_layers") ?? 6;
        int buckets = c.Int("relative_attention_num_buckets") ?? 32, maxDistance = c.Int("relative_attention_max_distance") ?? 128;
        if (buckets < 4 || maxDistance <= buckets / 4)
            throw new ModelException($"{type}: relative_attention_num_buckets {buckets} with relative_attention_max_distance {maxDistance} leave no logarithmic buckets");
        int heads = c.Int("num_heads") ?? 8;
        int pad = c.Int("pad_token_id") ?? 0;
        var eos = c.Ints("eos_token_id");
        return new ModelConfig
        {
            ModelType = type, Family = ModelFamily.T5, IsCausal = true,
            Layers = c.Int("num_decoder_layers") ?? layers,
            EncoderLayers = layers,
            Heads = heads, KvHeads = heads, HeadDim = c.Int("d_kv") ?? 64, Hidden = c.Int("d_model") ?? 512,
            Intermediate = c.Int("d_ff") ?? 2048,
            Vocab = c.Int("vocab_size") ?? 32128,
            // Relative positions have no limit; n_positions is what the checkpoints were trained on.
            MaxPositions = c.Int("n_positions") ?? 512,
            NormEps = (float)(c.Double("layer_norm_epsilon") ?? 1e-6),
            Activation = c.String("dense_act_fn") ?? (projection == "gated-gelu" ? "gelu_new" : parts[^1]),
            GatedMlp = c.Bool("is_gated_act") ?? parts[0] == "gated",
            RelativeAttentionBuckets = buckets, RelativeAttentionMaxDistance = maxDistance,
            TieWordEmbeddings = c.Bool("tie_word_embeddings") ?? true,
            PadTokenId = pad, EosTokenIds = eos.Length > 0 ? eos : [1],
            DecoderStartTokenId = c.Int("decoder_start_token_id") ?? pad,
        }.Checked(c.File);
    }

    /// <summary><c>layer_types</c> as "sliding_attention" → true, "full_attention" → false; null when the config has none.</summary>
    static bool[]? LayerTypes(Reader c, string type, int layers)
    {
        if (!c.Json.TryGetProperty("layer_types", out var t) || t.ValueKind != JsonValueKind.Array) return null;
        var kinds = t.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()).ToArray();
        if (kinds.Length != layers)
            throw new ModelException($"{type}: layer_types lists {kinds.Length} layers, but num_hidden_layers is {layers}");
        return kinds.Select(k => k switch
        {
            "sliding_attention" => true,
            "full_attention" => false,
            _ => throw new ModelException($"{type}: layer type \"{k}\" is not supported (sliding_attention, full_attention)"),
        }).ToArray();
    }

    static RopeScaling? ParseRopeScaling(Reader c, string type, int maxPositions)
    {
        if (!c.Json.TryGetProperty("rope_scaling", out var s) || s.ValueKind == JsonValueKind.Null) return null;
        if (s.ValueKind != JsonValueKind.Object) throw new ModelException($"{type}: rope_scaling must be an object or null");
        var r = new Reader(s, c.File + " (rope_scaling)");
        var kind = r.String("rope_type") ?? r.String("type") ?? "default";
        // Phi3Config renames the old spellings of longrope ("su", and "yarn" for Phi-3).
        if (type == "phi3" && kind is "su" or "yarn") kind = "longrope";
        if (!RopeScaling.SupportedTypes.Contains(kind))
            throw new ModelException($"{type}: rope_scaling type \"{kind}\" is not supported (supported: {string.Join(", ", RopeScaling.SupportedTypes)})");
        // Longrope (Phi-3) keeps original_max_position_embeddings at the top level; its factor defaults to max / original.
        int? original = r.Int("original_max_position_embeddings") ?? (kind == "longrope" ? c.Int("original_max_position_embeddings") ?? 4096 : null);
        double factor = r.Double("factor") ?? (kind == "longrope" ? (double)maxPositions / original!.Value : 1);
        return new RopeScaling(kind,
            Factor: factor,
            OriginalMaxPositions: original,
            LowFreqFactor: r.Double("low_freq_factor") ?? 1,
            HighFreqFactor: r.Double("high_freq_factor") ?? 4,
            AttentionFactor: r.Double("attention_factor"),
            BetaFast: r.Double("beta_fast") ?? 32,
            BetaSlow: r.Double("beta_slow") ?? 1,
            MScale: r.Double("mscale"),
            MScaleAllDim: r.Double("mscale_all_dim"),
            ShortFactor: r.Doubles("short_factor"),
            LongFactor: r.Doubles("long_factor"));
    }

    static int HeadDimOf(string type, int hidden, int heads)
    {
        if (heads <= 0 || hidden % heads != 0)
            throw new ModelException($"{type}: hidden size {hidden} is not divisible by the {heads} attention heads");
        return hidden / heads;
    }

    /// <summary>
    /// Sane ranges, checked before anything the size of a weight is allocated: a config.json of
    /// <c>num_hidden_layers</c> 10⁹ or <c>hidden_size</c> 2²¹ allocated per-layer tables before any weight was read,
    /// and <c>rms_norm_eps</c> 1e999, <c>rope_theta</c> 0 or a rope factor of 0 ran and printed zeros. The bounds are far
    /// beyond any released model (the largest have ~128 layers, hidden size 16,384 and a 262k vocabulary).
    /// </summary>
    public const int MaxLayers = 4096, MaxHidden = 1 << 17, MaxHeads = 4096, MaxHeadDim = 4096, MaxIntermediate = 1 << 20,
        MaxVocab = 1 << 24, MaxPositionsLimit = 1 << 24;

    internal ModelConfig Checked(string file)
    {
        void Range(string field, long value, long min, long max)
        {
            if (value < min || value > max)
                throw new ModelException($"{file}: {field} = {value} is outside the sane range {min}–{max:N0} for a {ModelType} model");
        }
        void Positive(string field, double value, double max = double.MaxValue, bool allowZero = false)
        {
            if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0) || value > max)
                throw new ModelException($"{file}: {field} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} must be a finite number {(allowZero ? "≥ 0" : "> 0")}{(max < double.MaxValue ? $" and at most {max}" : "")}");
        }
        Range("layers (num_hidden_layers)", Layers, 1, MaxLayers);
        Range("hidden size (hidden_size)", Hidden, 1, MaxHidden);
        Range("attention heads (num_attention_heads)", Heads, 1, MaxHeads);
        Range("key/value heads (num_key_value_heads)", KvHeads, 1, Heads);
        Range("head dim (head_dim)", HeadDim, 1, MaxHeadDim);
        Range("intermediate size (intermediate_size)", Intermediate, 1, MaxIntermediate);
        Range("vocab size (vocab_size)", Vocab, 1, MaxVocab);
        Range("max positions (max_position_embeddings)", MaxPositions, 1, MaxPositionsLimit);
        Range("type vocab size (type_vocab_size)", TypeVocab, 0, 1 << 16);
        Range("rotary dims (partial_rotary_factor × head_dim)", RotaryDim, 0, HeadDim);
        if (Family is not (ModelFamily.Gpt2 or ModelFamily.Bert) && RotaryDim % 2 != 0)
            throw new ModelException($"{file}: rotary dims {RotaryDim} (partial_rotary_factor × head_dim) must be even");
        Range("sliding window (sliding_window)", SlidingWindow, 0, int.MaxValue);
        // Token ids index the vocabulary; -1 is how some configs say "none".
        if (PadTokenId is { } pad) Range("pad_token_id", pad, -1, Vocab - 1);
        if (BosTokenId is { } bos) Range("bos_token_id", bos, -1, Vocab - 1);
        foreach (var eos in EosTokenIds) Range("eos_token_id", eos, -1, Vocab - 1);
        if (SlidingLayers != null && SlidingLayers.Length != Layers)
            throw new ModelException($"{file}: layer_types lists {SlidingLayers.Length} layers, but num_hidden_layers is {Layers}");
        // Norm epsilons: 1e-12 (BERT) to 1e-5 in practice; under 1, or normalisation stops meaning anything.
        Positive("norm epsilon (rms_norm_eps / layer_norm_eps)", NormEps, max: 1);
        if (Family is not (ModelFamily.Gpt2 or ModelFamily.Bert))
        {
            Positive("rope_theta", RopeTheta);
            if (RopeTheta <= 1) throw new ModelException($"{file}: rope_theta = {RopeTheta} must be greater than 1 (rotary frequencies are rope_theta^(-2j/d))");
            if (RopeLocalTheta is { } local && (!double.IsFinite(local) || local <= 1))
                throw new ModelException($"{file}: rope_local_base_freq = {local} must be a finite number greater than 1");
        }
        if (QueryPreAttnScalar is { } q) Positive("query_pre_attn_scalar", q);
        Positive("attn_logit_softcapping", AttnLogitSoftcap, allowZero: true);
        Positive("final_logit_softcapping", FinalLogitSoftcap, allowZero: true);
        if (RopeScaling is { } r)
        {
            Positive("rope_scaling.factor", r.Factor);
            if (r.OriginalMaxPositions is { } original) Range("rope_scaling.original_max_position_embeddings", original, 1, MaxPositionsLimit);
            if (r.Type == "llama3")
            {
                Positive("rope_scaling.low_freq_factor", r.LowFreqFactor);
                Positive("rope_scaling.high_freq_factor", r.HighFreqFactor);
                if (r.HighFreqFactor <= r.LowFreqFactor)
                    throw new ModelException($"{file}: rope_scaling.high_freq_factor {r.HighFreqFactor} must be greater than low_freq_factor {r.LowFreqFactor}");
            }
            if (r.Type == "yarn")
            {
                if (!double.IsFinite(r.BetaFast) || !double.IsFinite(r.BetaSlow) || r.BetaFast <= r.BetaSlow)
                    throw new ModelException($"{file}: rope_scaling.beta_fast {r.BetaFast} must be a finite number greater than beta_slow {r.BetaSlow}");
            }
            if (r.AttentionFactor is { } af) Positive("rope_scaling.attention_factor", af);
            if (r.MScale is { } ms) Positive("rope_scaling.mscale", ms, allowZero: true);
            if (r.MScaleAllDim is { } msa) Positive("rope_scaling.mscale_all_dim", msa, allowZero: true);
            foreach (var (name, list) in new[] { ("short_factor", r.ShortFactor), ("long_factor", r.LongFactor) })
            {
                if (list == null) continue;
                foreach (var f in list) Positive($"rope_scaling.{name} item", f);
            }
        }
        if (!Activations.IsKnown(Activation))
            throw new ModelException($"{ModelType}: activation \"{Activation}\" is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, silu, relu)");
        return this;
    }

    /// <summary>Typed access to config.json values, with aliases for keys that differ between families.</summary>
    sealed class Reader(JsonElement json, string file)
    {
        public JsonElement Json => json;
        public string File => file;

        /// <summary>
        /// Bounds for integer keys, checked as they are read, so that nothing sized by them (per-layer tables, sliding
        /// masks) is allocated from a hostile value; derived values are checked again in <see cref="Checked"/>.
        /// </summary>
        static readonly Dictionary<string, (long Min, long Max)> IntBounds = new(StringComparer.Ordinal)
        {
            ["num_hidden_layers"] = (1, MaxLayers), ["n_layer"] = (1, MaxLayers), ["n_layers"] = (1, MaxLayers),
            ["hidden_size"] = (1, MaxHidden), ["n_embd"] = (1, MaxHidden), ["dim"] = (1, MaxHidden),
            ["num_attention_heads"] = (1, MaxHeads), ["n_head"] = (1, MaxHeads), ["n_heads"] = (1, MaxHeads),
            ["num_key_value_heads"] = (1, MaxHeads), ["head_dim"] = (1, MaxHeadDim),
            ["intermediate_size"] = (1, MaxIntermediate), ["n_inner"] = (1, MaxIntermediate), ["hidden_dim"] = (1, MaxIntermediate),
            ["vocab_size"] = (1, MaxVocab), ["type_vocab_size"] = (0, 1 << 16),
            ["max_position_embeddings"] = (1, MaxPositionsLimit), ["n_positions"] = (1, MaxPositionsLimit),
            ["original_max_position_embeddings"] = (1, MaxPositionsLimit),
            ["sliding_window"] = (0, int.MaxValue), ["max_window_layers"] = (0, MaxLayers),
            ["sliding_window_pattern"] = (1, MaxLayers), ["_sliding_window_pattern"] = (1, MaxLayers),
        };

        ModelException OutOfRange(string key, string value, (long Min, long Max) b) =>
            new($"{file}: \"{key}\" = {value} is outside the sane range {b.Min}–{b.Max:N0}");

        /// <summary>Whether the key is written at all (null included): tells "null" from "left out, so the default".</summary>
        public bool Has(string key) => _overrides.ContainsKey(key) || json.TryGetProperty(key, out _);

        /// <summary>This object with one more key (a value the outer config gives for the inner one).</summary>
        /// <summary>A value given from outside the object, taking precedence over its own (no copy of the JSON, which
        /// may repeat keys that a JsonObject refuses).</summary>
        readonly Dictionary<string, bool> _overrides = new(StringComparer.Ordinal);

        public Reader With(string key, bool value)
        {
            var r = new Reader(json, file);
            foreach (var (k, v) in _overrides) r._overrides[k] = v;
            r._overrides[key] = value;
            return r;
        }

        public double[]? Doubles(string key) => Find(key) is { ValueKind: JsonValueKind.Array } v
            ? v.GetArrayLength() > MaxHeadDim ? throw new ModelException($"{file}: \"{key}\" lists {v.GetArrayLength()} numbers, more than any head has dimensions")
              : v.EnumerateArray().Select(e => Number(key, e)).ToArray()
            : null;

        /// <summary>A finite number: JSON allows 1e999, which .NET reads as no double at all.</summary>
        double Number(string key, JsonElement e) =>
            e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d) ? d
            : throw new ModelException($"{file}: \"{key}\" should be a finite number, found {Cut(e.GetRawText())}");

        static string Cut(string raw) => raw.Length > 80 ? raw[..80] + "…" : raw;

        /// <summary>An integer that fits an int (and the key's sane range), or a message naming the key.</summary>
        int Integer(string key, JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var l))
                throw new ModelException($"{file}: \"{key}\" should be an integer, found {Cut(e.GetRawText())}");
            var b = IntBounds.TryGetValue(key, out var known) ? known : (int.MinValue, int.MaxValue);
            if (l < b.Item1 || l > b.Item2) throw OutOfRange(key, l.ToString(), b);
            return (int)l;
        }

        JsonElement? Find(string key) =>
            json.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public int? Int(string key) => Find(key) is { } v
            ? v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 ? Integer(key, v[0]) : Integer(key, v)
            : null;

        /// <summary>Token ids (eos_token_id may be one or a list): each must fit an int; the range against the vocabulary is checked later.</summary>
        public int[] Ints(string key) => Find(key) is { } v
            ? v.ValueKind == JsonValueKind.Array
                ? v.GetArrayLength() > 1024 ? throw new ModelException($"{file}: \"{key}\" lists {v.GetArrayLength()} values; at most 1,024 are read")
                  : v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => Integer(key, e)).ToArray()
              : v.ValueKind == JsonValueKind.Number ? [Integer(key, v)] : []
            : [];

        public double? Double(string key) => Find(key) is { } v ? Number(key, v) : null;

        public bool? Bool(string key) => _overrides.TryGetValue(key, out var given) ? given : Find(key) is { } v
            ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw new ModelException($"{file}: \"{key}\" should be true or false") }
            : null;

        public string? String(string key) => Find(key) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

        public int Required(string type, params string[] keys)
        {
            foreach (var k in keys)
                if (Int(k) is { } v) return v;
            throw new ModelException($"{file} of this {type} model has no \"{keys[0]}\"{(keys.Length > 1 ? $" (or {string.Join(", ", keys.Skip(1).Select(k => $"\"{k}\""))})" : "")}, which a {type} model needs");
        }
    }
}
