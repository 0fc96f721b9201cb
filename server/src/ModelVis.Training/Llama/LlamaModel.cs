using System.Numerics;
using ModelVis.Checkpoints;
using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;

namespace ModelVis.Training.Llama;

/// <summary>
/// A Llama causal language model for training, parameters named as Hugging Face's LlamaForCausalLM
/// state dict. Per layer: h += o(attn(rope(q(n₁h)), rope(k(n₁h)), v(n₁h))); h += down(silu(gate(n₂h)) ⊙ up(n₂h));
/// then logits = lm_head(norm(h)).
/// </summary>
public sealed class LlamaModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Dictionary<string, Var<T>> _byName = new(StringComparer.Ordinal);

    public LlamaConfig Config { get; }

    /// <summary>All parameters in HF state-dict order.</summary>
    public IReadOnlyList<Var<T>> Parameters { get; }

    public Var<T> this[string name] => _byName[name];

    LlamaModel(LlamaConfig config, List<Var<T>> parameters)
    {
        Config = config;
        Parameters = parameters;
        foreach (var p in parameters) _byName[p.Name!] = p;
    }

    /// <summary>HF parameter names and shapes, in state-dict order.</summary>
    public static IEnumerable<(string Name, int[] Shape)> ParameterLayout(LlamaConfig c)
    {
        int d = c.HiddenSize, kv = c.KvHeads * c.HeadDim, f = c.IntermediateSize;
        yield return ("model.embed_tokens.weight", [c.VocabSize, d]);
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return (p + "self_attn.q_proj.weight", [c.Heads * c.HeadDim, d]);
            yield return (p + "self_attn.k_proj.weight", [kv, d]);
            yield return (p + "self_attn.v_proj.weight", [kv, d]);
            yield return (p + "self_attn.o_proj.weight", [d, c.Heads * c.HeadDim]);
            yield return (p + "mlp.gate_proj.weight", [f, d]);
            yield return (p + "mlp.up_proj.weight", [f, d]);
            yield return (p + "mlp.down_proj.weight", [d, f]);
            yield return (p + "input_layernorm.weight", [d]);
            yield return (p + "post_attention_layernorm.weight", [d]);
        }
        yield return ("model.norm.weight", [d]);
        if (!c.TieWordEmbeddings) yield return ("lm_head.weight", [c.VocabSize, d]);
    }

    /// <summary>
    /// GPT-2-style initialisation: weights N(0, 0.02), the two projections that write into the residual
    /// stream (o_proj, down_proj) scaled by 1/√(2·layers), norm gains 1. Deterministic for a seed.
    /// </summary>
    public static LlamaModel<T> Initialize(LlamaConfig config, int seed)
    {
        config.Validate();
        var rng = new Random(seed);
        var list = new List<Var<T>>();
        foreach (var (name, shape) in ParameterLayout(config))
        {
            var v = Var<T>.Zeros(name, true, shape);
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) Array.Fill(v.Data, T.One);
            else
            {
                double std = 0.02;
                if (name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal))
                    std /= Math.Sqrt(2.0 * config.Layers);
                for (int i = 0; i < v.Length; i++) v.Data[i] = T.CreateTruncating(std * Gaussian(rng));
            }
            list.Add(v);
        }
        return new LlamaModel<T>(config, list);
    }

    /// <summary>Reads a model saved in HF layout (config.json + model.safetensors).</summary>
    public static LlamaModel<T> Load(string dir)
    {
        var config = LlamaConfig.FromHuggingFaceJson(File.ReadAllText(Path.Combine(dir, "config.json")));
        using var ckpt = CheckpointLoader.Open(dir);
        var list = new List<Var<T>>();
        foreach (var (name, shape) in ParameterLayout(config))
        {
            var f = ckpt.ReadFloats(name);
            var data = new T[f.Length];
            for (int i = 0; i < f.Length; i++) data[i] = T.CreateTruncating(f[i]);
            list.Add(new Var<T>(data, shape, true, name));
        }
        return new LlamaModel<T>(config, list);
    }

    /// <summary>config.json and model.safetensors (F32) in HF layout.</summary>
    public void Save(string dir, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(dir);
        var w = new SafetensorsWriter().AddMetadata("format", "pt");
        if (metadata != null) foreach (var (k, v) in metadata) w.AddMetadata(k, v);
        foreach (var p in Parameters)
        {
            var f = new float[p.Length];
            for (int i = 0; i < f.Length; i++) f[i] = float.CreateTruncating(p.Data[i]);
            w.Add(p.Name!, f, p.Shape.Select(x => (long)x).ToArray());
        }
        w.Save(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), Config.ToHuggingFaceJson());
    }

    /// <summary>
    /// Logits [batch·seq, vocab] for token ids laid out as batch rows of seqLen. When <paramref name="attention"/>
    /// is given, each layer's probabilities [batch, heads, seq, seq] are appended to it.
    /// </summary>
    public Var<T> Forward(Tape<T> tape, int[] ids, int batch, int seqLen, List<T[]>? attention = null)
    {
        var c = Config;
        if (ids.Length != batch * seqLen) throw new ArgumentException($"{ids.Length} ids for {batch}×{seqLen}");
        if (seqLen > c.MaxPositions) throw new TrainingException($"sequence of {seqLen} tokens is longer than the model's {c.MaxPositions} positions");
        var shape = new AttentionShape(batch, seqLen, c.Heads, c.KvHeads, c.HeadDim);
        var h = tape.Embedding(this["model.embed_tokens.weight"], ids);
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            var a = tape.RmsNorm(h, this[p + "input_layernorm.weight"], c.RmsNormEps);
            var q = tape.Rotary(tape.Linear(a, this[p + "self_attn.q_proj.weight"]), seqLen, c.HeadDim, c.RopeTheta);
            var k = tape.Rotary(tape.Linear(a, this[p + "self_attn.k_proj.weight"]), seqLen, c.HeadDim, c.RopeTheta);
            var v = tape.Linear(a, this[p + "self_attn.v_proj.weight"]);
            var att = tape.CausalAttention(q, k, v, shape, attention);
            h = tape.Add(h, tape.Linear(att, this[p + "self_attn.o_proj.weight"]));
            var m = tape.RmsNorm(h, this[p + "post_attention_layernorm.weight"], c.RmsNormEps);
            var gated = tape.SiluGate(tape.Linear(m, this[p + "mlp.gate_proj.weight"]), tape.Linear(m, this[p + "mlp.up_proj.weight"]));
            h = tape.Add(h, tape.Linear(gated, this[p + "mlp.down_proj.weight"]));
        }
        h = tape.RmsNorm(h, this["model.norm.weight"], c.RmsNormEps);
        var head = c.TieWordEmbeddings ? this["model.embed_tokens.weight"] : this["lm_head.weight"];
        return tape.Linear(h, head);
    }

    /// <summary>Mean next-token cross-entropy: position t predicts targets[t] (= ids[t+1] of the window).</summary>
    public Var<T> Loss(Tape<T> tape, int[] ids, int[] targets, int batch, int seqLen) =>
        tape.CrossEntropy(Forward(tape, ids, batch, seqLen), targets);

    public long ParameterCount => Parameters.Sum(p => (long)p.Length);

    /// <summary>Standard normal by Box–Muller (System.Random with a seed is reproducible across runs).</summary>
    internal static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
