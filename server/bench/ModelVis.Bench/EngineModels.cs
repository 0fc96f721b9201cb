using System.Runtime.InteropServices;
using System.Text.Json;
using ModelVis.Checkpoints;

namespace ModelVis.Bench;

/// <summary>
/// Benchmark models with random weights, written once to a temp folder in Hugging Face layout:
/// a GPT-2-small-shaped GPT2LMHeadModel (12 × 768, 12 heads, vocab 50,257; 124 M parameters) and a
/// SmolLM-135M-shaped LlamaForCausalLM (30 × 576, 9 heads / 3 KV heads, MLP 1,536, vocab 49,152, tied; 135 M).
/// Values are uniform with standard deviation 0.02 (norm gains 1): timing does not depend on the values.
/// </summary>
public static class EngineModels
{
    public static string Root => Path.Combine(Path.GetTempPath(), "modelvis-bench-models");

    public static string Gpt2Small() => Ensure("gpt2-small", WriteGpt2Small);
    public static string Llama135M() => Ensure("llama-135m", WriteLlama135M);

    static string Ensure(string name, Action<string> write)
    {
        var dir = Path.Combine(Root, name);
        if (File.Exists(Path.Combine(dir, "model.safetensors")) && File.Exists(Path.Combine(dir, "config.json"))) return dir;
        Directory.CreateDirectory(dir);
        Console.Error.WriteLine($"writing random {name} to {dir} ...");
        write(dir);
        return dir;
    }

    static void WriteGpt2Small(string dir)
    {
        const int d = 768, layers = 12, heads = 12, vocab = 50257, positions = 1024;
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gpt2", ["architectures"] = new[] { "GPT2LMHeadModel" }, ["n_embd"] = d, ["n_layer"] = layers,
            ["n_head"] = heads, ["vocab_size"] = vocab, ["n_positions"] = positions, ["n_inner"] = null,
            ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new", ["bos_token_id"] = 50256, ["eos_token_id"] = 50256,
        };
        var rng = new Rng(1);
        var w = new SafetensorsWriter();
        w.Add("transformer.wte.weight", rng.Weights(vocab * d), vocab, d);
        w.Add("transformer.wpe.weight", rng.Weights(positions * d), positions, d);
        for (int i = 0; i < layers; i++)
        {
            string p = $"transformer.h.{i}.";
            w.Add(p + "ln_1.weight", Ones(d), d); w.Add(p + "ln_1.bias", rng.Weights(d), d);
            w.Add(p + "attn.c_attn.weight", rng.Weights(d * 3 * d), d, 3 * d); w.Add(p + "attn.c_attn.bias", rng.Weights(3 * d), 3 * d);
            w.Add(p + "attn.c_proj.weight", rng.Weights(d * d), d, d); w.Add(p + "attn.c_proj.bias", rng.Weights(d), d);
            w.Add(p + "ln_2.weight", Ones(d), d); w.Add(p + "ln_2.bias", rng.Weights(d), d);
            w.Add(p + "mlp.c_fc.weight", rng.Weights(d * 4 * d), d, 4 * d); w.Add(p + "mlp.c_fc.bias", rng.Weights(4 * d), 4 * d);
            w.Add(p + "mlp.c_proj.weight", rng.Weights(4 * d * d), 4 * d, d); w.Add(p + "mlp.c_proj.bias", rng.Weights(d), d);
        }
        w.Add("transformer.ln_f.weight", Ones(d), d); w.Add("transformer.ln_f.bias", rng.Weights(d), d);
        w.Save(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
    }

    static void WriteLlama135M(string dir)
    {
        const int d = 576, layers = 30, heads = 9, kvHeads = 3, inter = 1536, vocab = 49152, hd = d / heads;
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "llama", ["architectures"] = new[] { "LlamaForCausalLM" }, ["hidden_size"] = d, ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads, ["num_key_value_heads"] = kvHeads, ["intermediate_size"] = inter, ["vocab_size"] = vocab,
            ["max_position_embeddings"] = 2048, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = true, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["rope_scaling"] = null,
        };
        var rng = new Rng(2);
        var w = new SafetensorsWriter();
        w.Add("model.embed_tokens.weight", rng.Weights(vocab * d), vocab, d);
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.";
            w.Add(p + "self_attn.q_proj.weight", rng.Weights(heads * hd * d), heads * hd, d);
            w.Add(p + "self_attn.k_proj.weight", rng.Weights(kvHeads * hd * d), kvHeads * hd, d);
            w.Add(p + "self_attn.v_proj.weight", rng.Weights(kvHeads * hd * d), kvHeads * hd, d);
            w.Add(p + "self_attn.o_proj.weight", rng.Weights(d * heads * hd), d, heads * hd);
            w.Add(p + "mlp.gate_proj.weight", rng.Weights(inter * d), inter, d);
            w.Add(p + "mlp.up_proj.weight", rng.Weights(inter * d), inter, d);
            w.Add(p + "mlp.down_proj.weight", rng.Weights(d * inter), d, inter);
            w.Add(p + "input_layernorm.weight", Ones(d), d);
            w.Add(p + "post_attention_layernorm.weight", Ones(d), d);
        }
        w.Add("model.norm.weight", Ones(d), d);
        w.Save(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
    }

    static float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

    /// <summary>xorshift64*: fast, reproducible; uniform on [−√3·σ, √3·σ] has standard deviation σ.</summary>
    sealed class Rng(ulong seed)
    {
        ulong _state = seed * 0x9E3779B97F4A7C15UL + 1;

        public float[] Weights(int count, float std = 0.02f)
        {
            var x = new float[count];
            float a = std * MathF.Sqrt(3f);
            for (int i = 0; i < count; i++)
            {
                _state ^= _state >> 12; _state ^= _state << 25; _state ^= _state >> 27;
                ulong r = _state * 2685821657736338717UL;
                x[i] = ((r >> 40) / (float)(1 << 24) * 2f - 1f) * a;
            }
            return x;
        }
    }
}
