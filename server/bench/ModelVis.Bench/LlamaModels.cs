using System.Runtime.InteropServices;
using System.Text.Json;
using ModelVis.Checkpoints;

namespace ModelVis.Bench;

/// <summary>The shape of a Llama-family model: enough to write its weights as a Hugging Face folder or a GGUF file.</summary>
public sealed record LlamaShape(string Name, int Hidden, int Layers, int Heads, int KvHeads, int Intermediate, int Vocab, bool Tied, double RopeTheta, int Context)
{
    /// <summary>Llama-3.2-1B's shape (1.24 B parameters, tied embeddings; its llama3 rope scaling is left out).</summary>
    public static readonly LlamaShape Llama1B = new("llama-1b", 2048, 16, 32, 8, 8192, 128256, Tied: true, 500000, 131072);
    /// <summary>Llama-3.1-8B's shape (8.03 B parameters, untied).</summary>
    public static readonly LlamaShape Llama8B = new("llama-8b", 4096, 32, 32, 8, 14336, 128256, Tied: false, 500000, 131072);

    /// <summary>A small model of the same layout, for checking the benchmark itself in seconds (<c>models --small</c>).</summary>
    public static readonly LlamaShape Small = new("llama-small", 256, 2, 4, 2, 512, 1024, Tied: true, 500000, 4096);

    /// <summary>Hidden / heads unless set (Gemma 2's twin: 2,304 wide, 8 heads of 256).</summary>
    public int HeadDim { get; init; } = Hidden / Heads;

    /// <summary>Every 2-D weight as (Hugging Face name, GGUF name, rows = out features, columns = in features).</summary>
    public IEnumerable<(string Hf, string Gguf, int Rows, int Cols)> Matrices()
    {
        int q = Heads * HeadDim, kv = KvHeads * HeadDim;
        yield return ("model.embed_tokens.weight", "token_embd.weight", Vocab, Hidden);
        if (!Tied) yield return ("lm_head.weight", "output.weight", Vocab, Hidden);
        for (int i = 0; i < Layers; i++)
        {
            string p = $"model.layers.{i}.", g = $"blk.{i}.";
            yield return (p + "self_attn.q_proj.weight", g + "attn_q.weight", q, Hidden);
            yield return (p + "self_attn.k_proj.weight", g + "attn_k.weight", kv, Hidden);
            yield return (p + "self_attn.v_proj.weight", g + "attn_v.weight", kv, Hidden);
            yield return (p + "self_attn.o_proj.weight", g + "attn_output.weight", Hidden, q);
            yield return (p + "mlp.gate_proj.weight", g + "ffn_gate.weight", Intermediate, Hidden);
            yield return (p + "mlp.up_proj.weight", g + "ffn_up.weight", Intermediate, Hidden);
            yield return (p + "mlp.down_proj.weight", g + "ffn_down.weight", Hidden, Intermediate);
        }
    }

    /// <summary>Every norm gain vector as (Hugging Face name, GGUF name).</summary>
    public IEnumerable<(string Hf, string Gguf)> Norms()
    {
        for (int i = 0; i < Layers; i++)
        {
            yield return ($"model.layers.{i}.input_layernorm.weight", $"blk.{i}.attn_norm.weight");
            yield return ($"model.layers.{i}.post_attention_layernorm.weight", $"blk.{i}.ffn_norm.weight");
        }
        yield return ("model.norm.weight", "output_norm.weight");
    }
}

/// <summary>
/// Large random-weight Llamas for the <c>models</c> benchmark, written once under <see cref="EngineModels.Root"/>:
/// a BF16 Hugging Face folder (config.json + model.safetensors) and GGUF v3 files whose 2-D weights are Q8_0 or Q4_K
/// blocks (norms F32) with a dummy 128,256-token <c>llama</c> (SentencePiece-style) vocabulary, so llama.cpp loads
/// them as it loads a converted model. Values are random: BF16 uniform with standard deviation 0.02; quantized blocks
/// random bytes under small finite fp16 scales (Q8_0 d ≈ 2.7e-4, so about the same spread; Q4_K d = dmin = 1e-4).
/// Timing does not depend on the values.
/// </summary>
public static class LlamaModels
{
    public enum Storage { BF16, Q8_0, Q4_K }

    /// <summary>The model's path (a folder for BF16, a .gguf file otherwise), writing it first if it is not there.</summary>
    public static string Ensure(LlamaShape shape, Storage storage)
    {
        Directory.CreateDirectory(EngineModels.Root);
        if (storage == Storage.BF16)
        {
            var dir = Path.Combine(EngineModels.Root, $"{shape.Name}-bf16");
            if (File.Exists(Path.Combine(dir, "model.safetensors")) && File.Exists(Path.Combine(dir, "config.json"))) return dir;
            Directory.CreateDirectory(dir);
            Console.Error.WriteLine($"writing random {shape.Name} (BF16 safetensors) to {dir} ...");
            WriteBf16Folder(shape, dir);
            return dir;
        }
        var file = Path.Combine(EngineModels.Root, $"{shape.Name}-{storage.ToString().ToLowerInvariant()}.gguf");
        if (File.Exists(file)) return file;
        Console.Error.WriteLine($"writing random {shape.Name} ({storage} GGUF) to {file} ...");
        WriteGguf(shape, storage, file);
        return file;
    }

    /// <summary>Bytes on disk: the file, or every file of a folder.</summary>
    public static long SizeOnDisk(string path) =>
        File.Exists(path) ? new FileInfo(path).Length : Directory.EnumerateFiles(path).Sum(f => new FileInfo(f).Length);

    // ---------------------------------------------------------------- BF16 Hugging Face folder

    static void WriteBf16Folder(LlamaShape s, string dir)
    {
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "llama", ["architectures"] = new[] { "LlamaForCausalLM" }, ["hidden_size"] = s.Hidden,
            ["num_hidden_layers"] = s.Layers, ["num_attention_heads"] = s.Heads, ["num_key_value_heads"] = s.KvHeads,
            ["head_dim"] = s.HeadDim, ["intermediate_size"] = s.Intermediate, ["vocab_size"] = s.Vocab,
            ["max_position_embeddings"] = s.Context, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = s.RopeTheta, ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = s.Tied, // Llama 3's ids where the vocabulary has them (the 1B, the 8B), else 1 and 2 (the families' twins, --small).
            ["bos_token_id"] = s.Vocab > 128001 ? 128000 : 1, ["eos_token_id"] = s.Vocab > 128001 ? 128001 : 2, ["rope_scaling"] = null,
            ["torch_dtype"] = "bfloat16",
        };
        var tensors = s.Matrices().Select(m => (m.Hf, new long[] { m.Rows, m.Cols }, (float?)null))
            .Concat(s.Norms().Select(n => (n.Hf, new long[] { s.Hidden }, (float?)1f)));
        WriteBf16Folder(dir, config, tensors, seed: 11);
    }

    /// <summary>
    /// A Hugging Face folder (config.json + one BF16 model.safetensors) of the given tensors, written once under
    /// <see cref="EngineModels.Root"/>: each random (uniform, standard deviation 0.02), or every element
    /// <c>Fill</c> (norm gains, biases). Returns the folder.
    /// </summary>
    public static string EnsureBf16Folder(string name, Dictionary<string, object?> config, IEnumerable<(string Name, long[] Shape, float? Fill)> tensors, ulong seed)
    {
        var dir = Path.Combine(EngineModels.Root, name);
        if (File.Exists(Path.Combine(dir, "model.safetensors")) && File.Exists(Path.Combine(dir, "config.json"))) return dir;
        Directory.CreateDirectory(dir);
        Console.Error.WriteLine($"writing random {name} (BF16 safetensors) to {dir} ...");
        WriteBf16Folder(dir, config, tensors, seed);
        return dir;
    }

    static void WriteBf16Folder(string dir, Dictionary<string, object?> config, IEnumerable<(string Name, long[] Shape, float? Fill)> tensors, ulong seed)
    {
        var rng = new Rng(seed);
        var w = new SafetensorsWriter();
        foreach (var (name, shape, fill) in tensors)
        {
            int count = checked((int)shape.Aggregate(1L, (a, b) => a * b));
            if (fill is not { } f) { w.AddRaw(name, DType.BF16, shape, rng.Bf16(count, 0.02f)); continue; }
            var bytes = new byte[2L * count];
            MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()).Fill((ushort)(BitConverter.SingleToUInt32Bits(f) >> 16));
            w.AddRaw(name, DType.BF16, shape, bytes);
        }
        w.Save(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
    }

    // ---------------------------------------------------------------- GGUF

    static void WriteGguf(LlamaShape s, Storage storage, string path)
    {
        var (type, blockElements, blockBytes, fileType) = storage switch
        {
            Storage.Q8_0 => (GgufWriter.TypeQ8_0, 32, 34, 7u),   // LLAMA_FTYPE_MOSTLY_Q8_0
            Storage.Q4_K => (GgufWriter.TypeQ4_K, 256, 144, 14u), // LLAMA_FTYPE_MOSTLY_Q4_K_S (every matrix Q4_K)
            _ => throw new ArgumentOutOfRangeException(nameof(storage)),
        };
        var g = new GgufWriter()
            .String("general.architecture", "llama")
            .String("general.name", $"random {s.Name} ({storage})")
            .U32("general.file_type", fileType)
            .U32("general.quantization_version", 2)
            .U32("general.alignment", 32)
            .U32("llama.context_length", (uint)s.Context)
            .U32("llama.embedding_length", (uint)s.Hidden)
            .U32("llama.block_count", (uint)s.Layers)
            .U32("llama.feed_forward_length", (uint)s.Intermediate)
            .U32("llama.attention.head_count", (uint)s.Heads)
            .U32("llama.attention.head_count_kv", (uint)s.KvHeads)
            .U32("llama.rope.dimension_count", (uint)s.HeadDim)
            .F32("llama.rope.freq_base", (float)s.RopeTheta)
            .F32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .U32("llama.vocab_size", (uint)s.Vocab);
        AddVocabulary(g, s.Vocab);

        var rng = new Rng(storage == Storage.Q8_0 ? 21UL : 31UL);
        foreach (var (_, name, rows, cols) in s.Matrices())
        {
            if (cols % blockElements != 0) throw new InvalidOperationException($"{name}: rows of {cols} are not whole {storage} blocks");
            long blocks = (long)rows * (cols / blockElements);
            g.Tensor(name, type, [cols, rows], blocks * blockBytes, stream => WriteBlocks(stream, storage, blocks, blockBytes, rng));
        }
        foreach (var (_, name) in s.Norms())
            g.Tensor(name, GgufWriter.TypeF32, [s.Hidden], 4L * s.Hidden, stream =>
            {
                var one = new float[s.Hidden];
                Array.Fill(one, 1f);
                stream.Write(MemoryMarshal.AsBytes(one.AsSpan()));
            });
        g.Save(path);
    }

    /// <summary>
    /// A dummy vocabulary as llama.cpp's <c>llama</c> (SentencePiece) tokenizer expects one: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;,
    /// the 256 byte tokens &lt;0x00&gt;…&lt;0xFF&gt; (llama.cpp looks up &lt;0x0A&gt; for the newline), then distinct pieces.
    /// </summary>
    static void AddVocabulary(GgufWriter g, int vocab)
    {
        var tokens = new string[vocab];
        var scores = new float[vocab];
        var types = new int[vocab];
        tokens[0] = "<unk>"; types[0] = 2;    // UNKNOWN
        tokens[1] = "<s>"; types[1] = 3;      // CONTROL
        tokens[2] = "</s>"; types[2] = 3;
        for (int b = 0; b < 256; b++) { tokens[3 + b] = $"<0x{b:X2}>"; types[3 + b] = 6; } // BYTE
        for (int i = 259; i < vocab; i++) { tokens[i] = $"\u2581t{i}"; types[i] = 1; scores[i] = -i; } // NORMAL
        g.String("tokenizer.ggml.model", "llama")
            .Strings("tokenizer.ggml.tokens", tokens)
            .F32s("tokenizer.ggml.scores", scores)
            .I32s("tokenizer.ggml.token_type", types)
            .U32("tokenizer.ggml.bos_token_id", 1)
            .U32("tokenizer.ggml.eos_token_id", 2)
            .U32("tokenizer.ggml.unknown_token_id", 0);
    }

    /// <summary>Random blocks: random bytes, then each block's fp16 scale(s) set to small finite values.</summary>
    static void WriteBlocks(Stream stream, Storage storage, long blocks, int blockBytes, Rng rng)
    {
        const int ChunkBlocks = 1 << 15;
        var buffer = new byte[ChunkBlocks * blockBytes];
        ushort d = BitConverter.HalfToUInt16Bits((Half)(storage == Storage.Q8_0 ? 0.02f * MathF.Sqrt(3f) / 127f : 1e-4f));
        for (long done = 0; done < blocks; done += ChunkBlocks)
        {
            int count = (int)Math.Min(ChunkBlocks, blocks - done);
            var span = buffer.AsSpan(0, count * blockBytes);
            rng.Fill(span);
            for (int b = 0; b < count; b++)
            {
                var block = span.Slice(b * blockBytes, blockBytes);
                MemoryMarshal.Write(block, in d);                                       // Q8_0 d; Q4_K d
                if (storage == Storage.Q4_K) MemoryMarshal.Write(block[2..], in d);     // Q4_K dmin
            }
            stream.Write(span);
        }
    }

    /// <summary>xorshift64*: fast and reproducible.</summary>
    sealed class Rng(ulong seed)
    {
        ulong _state = seed * 0x9E3779B97F4A7C15UL + 1;

        ulong Next()
        {
            _state ^= _state >> 12; _state ^= _state << 25; _state ^= _state >> 27;
            return _state * 2685821657736338717UL;
        }

        public void Fill(Span<byte> bytes)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(bytes);
            for (int i = 0; i < words.Length; i++) words[i] = Next();
            for (int i = words.Length * 8; i < bytes.Length; i++) bytes[i] = (byte)Next();
        }

        /// <summary>BF16 values uniform on [−√3·σ, √3·σ] (standard deviation σ), truncated from float32.</summary>
        public byte[] Bf16(int count, float std)
        {
            var bytes = new byte[2L * count];
            var halves = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
            float a = std * MathF.Sqrt(3f);
            for (int i = 0; i < count; i++)
            {
                float x = ((Next() >> 40) / (float)(1 << 24) * 2f - 1f) * a;
                halves[i] = (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16);
            }
            return bytes;
        }
    }
}
