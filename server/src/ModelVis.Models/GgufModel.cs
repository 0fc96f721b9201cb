using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// A llama.cpp GGUF file (as llama.cpp, Ollama and LM Studio keep them) as a language model: the configuration
/// from the metadata keys llama.cpp writes, the tensors presented under their Hugging Face names
/// (<see cref="GgufAsHuggingFace"/>), so the family's own file (Llama.cs) reads them as it reads a hub checkpoint,
/// quantized blocks and all.
/// </summary>
public static class GgufModel
{
    /// <summary>
    /// GGUF architectures the engine runs: the family file that computes them, and whether llama.cpp's converter
    /// permuted their q/k rows (it does for the Llama family only; Qwen's rotary already pairs halves in its own way).
    /// </summary>
    static readonly Dictionary<string, (ModelFamily Family, bool PermutedQk)> Architectures = new(StringComparer.Ordinal)
    {
        ["llama"] = (ModelFamily.Llama, true),
        ["qwen2"] = (ModelFamily.Llama, false),
        ["qwen3"] = (ModelFamily.Qwen3, false),
    };

    public static bool IsGguf(string path) => GgufFile.IsGgufFile(path);

    public static LanguageModel Load(string path, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var gguf = new GgufFile(path);
        ModelConfig config;
        GgufAsHuggingFace named;
        try
        {
            config = Config(gguf);
            named = new GgufAsHuggingFace(gguf, config, Architectures[config.ModelType].PermutedQk);
        }
        catch
        {
            gguf.Dispose();
            throw;
        }
        return ModelLoader.WithCheckpoint(named, config, device, w => config.Family == ModelFamily.Qwen3
            ? Qwen3.Load(config, Path.GetFullPath(path), w)
            : Llama.Load(config, Path.GetFullPath(path), w));
    }

    /// <summary>The configuration config.json would give, from <c>general.architecture</c> and the <c>{arch}.*</c> keys.</summary>
    public static ModelConfig Config(GgufFile gguf)
    {
        var m = new Metadata(gguf);
        string arch = m.String("general.architecture");
        if (!Architectures.TryGetValue(arch, out var known))
            throw new ModelException($"{m.File}: GGUF architecture \"{arch}\" is not supported (supported: {string.Join(", ", Architectures.Keys)})");
        int d = m.Int($"{arch}.embedding_length"), heads = m.Int($"{arch}.attention.head_count");
        int kv = m.OptionalInt($"{arch}.attention.head_count_kv") ?? heads;
        if (heads <= 0 || d % heads != 0) throw new ModelException($"{m.File}: embedding length {d} is not divisible by {heads} heads");
        if (kv <= 0 || heads % kv != 0) throw new ModelException($"{m.File}: {heads} heads cannot share {kv} key/value heads evenly");
        int headDim = m.OptionalInt($"{arch}.attention.key_length") ?? d / heads;
        int ropeDims = m.OptionalInt($"{arch}.rope.dimension_count") ?? headDim;
        if (ropeDims != headDim)
            throw new ModelException($"{m.File}: rotary embeddings over {ropeDims} of {headDim} head dimensions (partial rotary) is not supported for {arch}");
        int vocab = m.OptionalInt($"{arch}.vocab_size")
            ?? (gguf.Metadata.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens is object[] list ? list.Length
            : gguf.TryGet("token_embd.weight", out var embd) ? (int)embd.Shape[0]
            : throw new ModelException($"{m.File}: no {arch}.vocab_size, tokenizer.ggml.tokens or token_embd.weight to tell the vocabulary size"));
        return new ModelConfig
        {
            ModelType = arch, Family = known.Family, IsCausal = true,
            // Qwen2 has q/k/v biases (blk.N.attn_q.bias …); the others none.
            AttentionBias = arch == "qwen2",
            Layers = m.Int($"{arch}.block_count"),
            Heads = heads, KvHeads = kv, HeadDim = headDim, Hidden = d,
            Intermediate = m.Int($"{arch}.feed_forward_length"),
            Vocab = vocab,
            MaxPositions = m.OptionalInt($"{arch}.context_length") ?? 2048,
            NormEps = (float)(m.OptionalDouble($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-5),
            Activation = "silu",
            RopeTheta = m.OptionalDouble($"{arch}.rope.freq_base") ?? 10000,
            RopeScaling = RopeScalingOf(gguf, m, arch, headDim),
            TieWordEmbeddings = !gguf.TryGet("output.weight", out _),
            BosTokenId = m.OptionalInt("tokenizer.ggml.bos_token_id"),
            EosTokenIds = m.OptionalInt("tokenizer.ggml.eos_token_id") is { } eos ? [eos] : [],
        }.Checked(m.File);
    }

    static RopeScaling? RopeScalingOf(GgufFile gguf, Metadata m, string arch, int headDim)
    {
        // Llama 3.x: llama.cpp's converter bakes rope_scaling into one factor per frequency.
        if (gguf.TryGet("rope_freqs.weight", out var freqs))
        {
            if (freqs.ElementCount != headDim / 2)
                throw new ModelException($"{m.File}: rope_freqs.weight has {freqs.ElementCount} values; head dimension {headDim} needs {headDim / 2}");
            return new RopeScaling("frequency_factors", FrequencyFactors: gguf.ReadFloats(freqs));
        }
        string? type = m.OptionalString($"{arch}.rope.scaling.type");
        double factor = m.OptionalDouble($"{arch}.rope.scaling.factor") ?? 1;
        int? original = m.OptionalInt($"{arch}.rope.scaling.original_context_length");
        return type switch
        {
            null or "none" => null,
            "linear" or "yarn" => new RopeScaling(type, factor, original),
            _ => throw new ModelException($"{m.File}: rope scaling \"{type}\" is not supported (supported: none, linear, yarn)"),
        };
    }

    /// <summary>Typed metadata access with messages that name the file and the key.</summary>
    sealed class Metadata(GgufFile gguf)
    {
        public string File => Path.GetFileName(gguf.Path);

        object? Find(string key) => gguf.Metadata.TryGetValue(key, out var v) ? v : null;

        public int? OptionalInt(string key) => Find(key) switch
        {
            null => null,
            long l when l is >= 0 and <= int.MaxValue => (int)l,
            ulong u when u <= int.MaxValue => (int)u,
            var v => throw new ModelException($"{File}: metadata `{key}` should be a non-negative integer, found {v}"),
        };

        public int Int(string key) => OptionalInt(key) ?? throw new ModelException($"{File}: metadata has no `{key}`, which a GGUF language model needs");

        public double? OptionalDouble(string key) => Find(key) switch
        {
            null => null,
            double d => d,
            long l => l,
            ulong u => u,
            var v => throw new ModelException($"{File}: metadata `{key}` should be a number, found {v}"),
        };

        public string? OptionalString(string key) => Find(key) switch
        {
            null => null,
            string s => s,
            var v => throw new ModelException($"{File}: metadata `{key}` should be a string, found {v}"),
        };

        public string String(string key) => OptionalString(key) ?? throw new ModelException($"{File}: metadata has no `{key}`");
    }
}

/// <summary>
/// A GGUF file's tensors under Hugging Face names and shapes (<c>blk.3.attn_q.weight</c> →
/// <c>model.layers.3.self_attn.q_proj.weight</c>). Bytes are the file's own (quantized blocks included), except
/// that, for the Llama family, rows of <c>attn_q</c> and <c>attn_k</c> come back in Hugging Face's order: llama.cpp's converter permutes
/// them per head from rotate-half order (x₀…x_{d/2−1} | x_{d/2}…) to adjacent pairs (x₀ x_{d/2} x₁ …) for its RoPE
/// kernel, and Llama.cs rotates halves, so reading row r of a head returns GGUF row 2·(r mod d/2) + r div (d/2).
/// Undoing it row by row here, once per read, keeps quantized blocks intact (a row is whole blocks).
/// </summary>
sealed class GgufAsHuggingFace : ICheckpoint
{
    readonly GgufFile _gguf;
    readonly Dictionary<string, (TensorInfo Gguf, int PermutedHeads)> _byName = new(StringComparer.Ordinal);

    static readonly (string Gguf, string Hf)[] LayerNames =
    [
        ("attn_norm", "input_layernorm"), ("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"), ("attn_output", "self_attn.o_proj"), ("ffn_norm", "post_attention_layernorm"),
        ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj"), ("ffn_down", "mlp.down_proj"),
        ("attn_q_norm", "self_attn.q_norm"), ("attn_k_norm", "self_attn.k_norm"),
    ];

    public GgufAsHuggingFace(GgufFile gguf, ModelConfig config, bool permutedQk)
    {
        _gguf = gguf;
        var tensors = new List<TensorInfo>();
        foreach (var t in gguf.Tensors)
        {
            var (name, heads) = HuggingFaceName(t.Name, config);
            if (!permutedQk || t.Shape.Length is not (1 or 2)) heads = 0;
            var renamed = t with { Name = name };
            _byName[name] = (t, heads);
            tensors.Add(renamed);
        }
        Tensors = tensors;
    }

    static (string Name, int PermutedHeads) HuggingFaceName(string gguf, ModelConfig config)
    {
        switch (gguf)
        {
            case "token_embd.weight": return ("model.embed_tokens.weight", 0);
            case "output_norm.weight": return ("model.norm.weight", 0);
            case "output.weight": return ("lm_head.weight", 0);
        }
        var parts = gguf.Split('.', 3);
        if (parts.Length == 3 && parts[0] == "blk" && int.TryParse(parts[1], out int layer))
        {
            int dot = parts[2].IndexOf('.');
            string module = dot < 0 ? parts[2] : parts[2][..dot], suffix = dot < 0 ? "" : parts[2][dot..];
            foreach (var (g, hf) in LayerNames)
                if (g == module)
                {
                    int heads = module == "attn_q" ? config.Heads : module == "attn_k" ? config.KvHeads : 0;
                    return ($"model.layers.{layer}.{hf}{suffix}", heads);
                }
        }
        return (gguf, 0);
    }

    public string Path => _gguf.Path;
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public bool TryGet(string name, out TensorInfo info)
    {
        info = null!;
        if (!_byName.TryGetValue(name, out var entry)) return false;
        info = entry.Gguf with { Name = name };
        return true;
    }

    public void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        if (!_byName.TryGetValue(tensor.Name, out var entry))
            throw new CheckpointException($"{System.IO.Path.GetFileName(Path)}: no tensor named `{tensor.Name}`");
        var (t, heads) = entry;
        if (heads == 0)
        {
            _gguf.ReadBytes(t, byteOffset, destination);
            return;
        }
        // A weight's rows are whole blocks; a bias's "rows" are single values (the converter permutes q/k biases too).
        long rows = t.Shape[0], rowBytes = t.ByteLength / rows;
        long headDim = rows / heads, half = headDim / 2;
        while (!destination.IsEmpty)
        {
            long row = byteOffset / rowBytes, within = byteOffset % rowBytes;
            long head = row / headDim, r = row % headDim;
            long source = head * headDim + 2 * (r % half) + r / half;
            int take = (int)Math.Min(destination.Length, rowBytes - within);
            _gguf.ReadBytes(t, source * rowBytes + within, destination[..take]);
            destination = destination[take..];
            byteOffset += take;
        }
    }

    public void Dispose() => _gguf.Dispose();
}
