using ModelVis.Tensors;
using static ModelVis.Bench.EngineReport;

namespace ModelVis.Bench;

/// <summary>
/// <c>families</c>: forward + capture at 512 tokens for a Gemma-2-2B-shaped <c>gemma2</c> model and a Pythia-410M-shaped
/// <c>gpt_neox</c> model, each beside its Llama twin (a <c>llama</c> config with the same hidden size, layers, heads,
/// KV heads, head_dim, intermediate size and vocabulary), so a family whose own code is slow shows as a ratio
/// family / Llama. Random BF16 weights written once (<see cref="LlamaModels.EnsureBf16Folder"/>); each model runs in
/// its own child process (<see cref="ModelsReport.RunChild"/>: a cold pass, then REPS warm ones; peak RSS = VmHWM).
/// <code>dotnet run -c Release --project server/bench/ModelVis.Bench -- families [--reps N] [--small]</code>
/// (<c>--small</c>: the same four cases at toy size, to check the benchmark itself.)
/// </summary>
public static class FamiliesReport
{
    sealed record Shape(string Name, int Hidden, int Layers, int Heads, int KvHeads, int HeadDim, int Intermediate, int Vocab, bool Tied, int Context)
    {
        public LlamaShape LlamaTwin => new($"llama-twin-of-{Name}", Hidden, Layers, Heads, KvHeads, Intermediate, Vocab, Tied, 10000, Context) { HeadDim = HeadDim };
    }

    static readonly Shape Gemma2B = new("gemma2-2b", 2304, 26, 8, 4, 256, 9216, 256000, Tied: true, 8192);
    static readonly Shape Pythia410M = new("pythia-410m", 1024, 24, 16, 16, 64, 4096, 50304, Tied: false, 2048);
    static readonly Shape Gemma2Small = new("gemma2-small", 256, 2, 4, 2, 64, 512, 1024, Tied: true, 8192);
    static readonly Shape NeoXSmall = new("pythia-small", 256, 2, 4, 4, 64, 1024, 1024, Tied: false, 2048);

    public static int Run(string[] args)
    {
        int reps = ModelsReport.Option(args, "--reps") is { } r ? int.Parse(r) : 3;
        bool small = args.Contains("--small");
        var (gemma, neox) = small ? (Gemma2Small, NeoXSmall) : (Gemma2B, Pythia410M);
        string size = small ? "small " : "";
        var pairs = new (string Label, Func<string> Family, Shape Shape, string TwinNote)[]
        {
            ($"Gemma-2-2B-shaped {size}(`gemma2`)", () => WriteGemma2(gemma), gemma, ""),
            ($"Pythia-410M-shaped {size}(`gpt_neox`)", () => WriteGptNeoX(neox), neox, ", gated MLP: 3 matrices where GPT-NeoX has 2"),
        };

        // Write every model first, so the timed part is not interleaved with writing gigabytes.
        var paths = pairs.Select(p => (Family: p.Family(), Twin: LlamaModels.Ensure(p.Shape.LlamaTwin, LlamaModels.Storage.BF16))).ToArray();
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        Console.WriteLine($"# ModelVis `families` benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine();
        Console.WriteLine($"Machine: {ModelsReport.CpuName()}, {Environment.ProcessorCount} cores, {ModelsReport.MemTotalGb():F0} GiB RAM; " +
                          $"ModelVis {Parallelism.Threads} threads (kernels {MatMul.Path}). Random BF16 safetensors, kept as stored. " +
                          $"Capture: hidden states 0..L, logits at every position, attention probabilities of layer 0. 512 random token ids; " +
                          $"median of {reps} warm passes after a cold one, each model in its own process (twin first, then the family). " +
                          "Ratio = family / its Llama twin (same hidden, layers, heads, KV heads, head_dim, intermediate, vocabulary), wall and CPU seconds.");
        Console.WriteLine();
        Console.WriteLine("| model | file GB | cold s | 512 warm s | 512 warm CPU s | peak RSS GB | ratio to Llama twin: wall (CPU) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        for (int i = 0; i < pairs.Length; i++)
        {
            Console.Error.WriteLine($"[families] Llama twin of {pairs[i].Shape.Name} ...");
            var twin = ModelsReport.RunChild(paths[i].Twin, widen: false, reps, longReps: 0);
            Console.Error.WriteLine($"[families] {pairs[i].Shape.Name} ...");
            var family = ModelsReport.RunChild(paths[i].Family, widen: false, reps, longReps: 0);
            Console.WriteLine(Row(pairs[i].Label, paths[i].Family, family, twin));
            Console.WriteLine(Row($"its Llama twin (`llama`{pairs[i].TwinNote})", paths[i].Twin, twin, null));
        }
        return 0;
    }

    static string Row(string label, string path, ModelsReport.Mine m, ModelsReport.Mine? twin)
    {
        double fileGb = LlamaModels.SizeOnDisk(path) / 1e9;
        if (m.Error is not null) return $"| {label} | {fileGb:F2} | failed: {m.Error.Replace("|", "\\|").Replace("\n", " ")} | - | - | - | - |";
        double wall = Median(m.Times512), cpu = Median(m.Cpu512);
        string ratio = twin is null ? "1 (reference)"
            : twin.Error is not null ? "twin failed"
            : $"{wall / Median(twin.Times512):F2}× ({cpu / Median(twin.Cpu512):F2}×)";
        return $"| {label} | {fileGb:F2} | {m.ColdS:F2} | {wall:F2} | {cpu:F2} | {ModelsReport.Gb(m.Peak512Mb):F2} | {ratio} |";
    }

    // ---------------------------------------------------------------- the two families' checkpoints (names as Gemma2.cs / GptNeoX.cs read them)

    static string WriteGemma2(Shape s)
    {
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gemma2", ["architectures"] = new[] { "Gemma2ForCausalLM" }, ["hidden_size"] = s.Hidden,
            ["num_hidden_layers"] = s.Layers, ["num_attention_heads"] = s.Heads, ["num_key_value_heads"] = s.KvHeads,
            ["head_dim"] = s.HeadDim, ["intermediate_size"] = s.Intermediate, ["vocab_size"] = s.Vocab,
            ["max_position_embeddings"] = s.Context, ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 10000.0,
            ["hidden_act"] = "gelu_pytorch_tanh", ["hidden_activation"] = "gelu_pytorch_tanh",
            ["sliding_window"] = 4096, ["attn_logit_softcapping"] = 50.0, ["final_logit_softcapping"] = 30.0,
            ["query_pre_attn_scalar"] = 256, ["tie_word_embeddings"] = true, ["bos_token_id"] = 2, ["eos_token_id"] = 1,
            ["pad_token_id"] = 0, ["torch_dtype"] = "bfloat16",
        };
        int q = s.Heads * s.HeadDim, kv = s.KvHeads * s.HeadDim, d = s.Hidden, I = s.Intermediate;
        IEnumerable<(string, long[], float?)> Tensors()
        {
            yield return ("model.embed_tokens.weight", [s.Vocab, d], null);
            for (int i = 0; i < s.Layers; i++)
            {
                string p = $"model.layers.{i}.";
                yield return (p + "self_attn.q_proj.weight", [q, d], null);
                yield return (p + "self_attn.k_proj.weight", [kv, d], null);
                yield return (p + "self_attn.v_proj.weight", [kv, d], null);
                yield return (p + "self_attn.o_proj.weight", [d, q], null);
                yield return (p + "mlp.gate_proj.weight", [I, d], null);
                yield return (p + "mlp.up_proj.weight", [I, d], null);
                yield return (p + "mlp.down_proj.weight", [d, I], null);
                // Gemma's norms scale by (1 + w): 0 is a gain of 1.
                foreach (var n in new[] { "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm" })
                    yield return (p + n + ".weight", [d], 0f);
            }
            yield return ("model.norm.weight", [d], 0f);
        }
        return LlamaModels.EnsureBf16Folder($"{s.Name}-bf16", config, Tensors(), seed: 41);
    }

    static string WriteGptNeoX(Shape s)
    {
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gpt_neox", ["architectures"] = new[] { "GPTNeoXForCausalLM" }, ["hidden_size"] = s.Hidden,
            ["num_hidden_layers"] = s.Layers, ["num_attention_heads"] = s.Heads, ["intermediate_size"] = s.Intermediate,
            ["vocab_size"] = s.Vocab, ["max_position_embeddings"] = s.Context, ["layer_norm_eps"] = 1e-5, ["hidden_act"] = "gelu",
            ["rotary_pct"] = 0.25, ["rotary_emb_base"] = 10000, ["use_parallel_residual"] = true, ["tie_word_embeddings"] = false,
            ["bos_token_id"] = 0, ["eos_token_id"] = 0, ["torch_dtype"] = "bfloat16",
        };
        int d = s.Hidden, I = s.Intermediate;
        IEnumerable<(string, long[], float?)> Tensors()
        {
            yield return ("gpt_neox.embed_in.weight", [s.Vocab, d], null);
            for (int i = 0; i < s.Layers; i++)
            {
                string p = $"gpt_neox.layers.{i}.";
                yield return (p + "input_layernorm.weight", [d], 1f);
                yield return (p + "input_layernorm.bias", [d], 0f);
                yield return (p + "attention.query_key_value.weight", [3 * d, d], null);
                yield return (p + "attention.query_key_value.bias", [3 * d], 0f);
                yield return (p + "attention.dense.weight", [d, d], null);
                yield return (p + "attention.dense.bias", [d], 0f);
                yield return (p + "post_attention_layernorm.weight", [d], 1f);
                yield return (p + "post_attention_layernorm.bias", [d], 0f);
                yield return (p + "mlp.dense_h_to_4h.weight", [I, d], null);
                yield return (p + "mlp.dense_h_to_4h.bias", [I], 0f);
                yield return (p + "mlp.dense_4h_to_h.weight", [d, I], null);
                yield return (p + "mlp.dense_4h_to_h.bias", [d], 0f);
            }
            yield return ("gpt_neox.final_layer_norm.weight", [d], 1f);
            yield return ("gpt_neox.final_layer_norm.bias", [d], 0f);
            yield return ("embed_out.weight", [s.Vocab, d], null);
        }
        return LlamaModels.EnsureBf16Folder($"{s.Name}-bf16", config, Tensors(), seed: 43);
    }
}
