using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// The Llama family (llama, mistral, qwen2): a pre-norm decoder with RMSNorm, rotary positions, grouped-query
/// attention and a SwiGLU MLP.
/// <code>
///   h = embed_tokens[ids]
///   per layer:  x = rms(h);  q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv)     Qwen2 has the biases
///               q, k = rope(q), rope(k)                                      HF rotate_half, rope_theta, rope_scaling
///               h = h + o_proj(attention(q, k, v))                           causal; query head j uses kv head j / (H/KV)
///               h = h + down(silu(gate(rms(h))) * up(rms(h)))
///   logits = lm_head(norm(h))                                                lm_head tied to embed_tokens when the config says so
/// </code>
/// </summary>
public sealed class Llama : LanguageModel
{
    sealed record Layer(float[] InputNorm, Linear Qkv, Linear O, float[] PostNorm, Linear GateUp, Linear Down);

    /// <summary>Untied models look tokens up in their own embedding table; tied ones in the head's columns.</summary>
    readonly WeightMatrix _embedding;
    readonly WeightMatrix _lmHead;
    readonly Layer[] _layers;
    readonly float[] _norm;
    readonly Rotary _rotary;

    int QWidth => Config.Heads * Config.HeadDim;
    int KvWidth => Config.KvHeads * Config.HeadDim;

    Llama(ModelConfig config, string folder, Weights w) : base(config, folder)
    {
        int d = config.Hidden, I = config.Intermediate, V = config.Vocab;
        w.Prefix = w.FindPrefix("embed_tokens.weight", "model.", "") ?? "model.";
        bool tied = config.TieWordEmbeddings || !w.HasExact("lm_head.weight");
        if (tied) _embedding = _lmHead = w.LinearWeight("embed_tokens.weight", V, d);
        else
        {
            _embedding = w.EmbeddingRows("embed_tokens.weight", V, d);
            var prefix = w.Prefix;
            w.Prefix = "";
            _lmHead = w.LinearWeight("lm_head.weight", V, d);
            w.Prefix = prefix;
        }

        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            var qkv = new[] { (p + "self_attn.q_proj.weight", QWidth), (p + "self_attn.k_proj.weight", KvWidth), (p + "self_attn.v_proj.weight", KvWidth) };
            var qkvBias = new[] { (p + "self_attn.q_proj.bias", QWidth), (p + "self_attn.k_proj.bias", KvWidth), (p + "self_attn.v_proj.bias", KvWidth) };
            if (config.AttentionBias && !w.Has(qkvBias[0].Item1))
                throw new ModelException($"{Path.GetFileName(w.Checkpoint.Path)}: missing tensor `{w.Prefix}{qkvBias[0].Item1}`; a {config.ModelType} model has q/k/v biases");
            var gateUp = new[] { (p + "mlp.gate_proj.weight", I), (p + "mlp.up_proj.weight", I) };
            _layers[i] = new Layer(
                w.Floats(p + "input_layernorm.weight", d),
                new Linear(w.FusedLinearWeight(d, qkv), w.FusedBias(qkvBias)),
                new Linear(w.LinearWeight(p + "self_attn.o_proj.weight", d, QWidth), w.OptionalFloats(p + "self_attn.o_proj.bias", d)),
                w.Floats(p + "post_attention_layernorm.weight", d),
                new Linear(w.FusedLinearWeight(d, gateUp), w.FusedBias((p + "mlp.gate_proj.bias", I), (p + "mlp.up_proj.bias", I))),
                new Linear(w.LinearWeight(p + "mlp.down_proj.weight", d, I), w.OptionalFloats(p + "mlp.down_proj.bias", d)));
        }
        _norm = w.Floats("norm.weight", d);
        try { _rotary = new Rotary(config.HeadDim, config.RopeTheta, config.MaxPositions, config.RopeScaling); }
        catch (ArgumentException e) { throw new ModelException($"{config.ModelType}: {e.Message}", e); }
    }

    internal static Llama Load(ModelConfig config, string folder, ICheckpoint checkpoint) => new(config, folder, new Weights(checkpoint, config.ModelType));

    protected override void Prepare(Sequence seq) => (seq.Cos, seq.Sin) = _rotary.Tables(seq.N);

    protected override float[] Embed(Sequence seq)
    {
        int n = seq.N, d = Config.Hidden;
        var h = Scratch((long)n * d);
        for (int i = 0; i < n; i++) _embedding.CopyColumn(seq.Input.Ids[i], h.AsSpan(i * d, d));
        return h;
    }

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var l = _layers[layer];
        int n = seq.N, d = Config.Hidden, hd = Config.HeadDim, width = QWidth + 2 * KvWidth;
        var x = seq.Work(0, (long)n * d);
        Norms.RmsNorm(h, n, d, l.InputNorm, Config.NormEps, x);
        var qkv = seq.Work(1, (long)n * width);
        l.Qkv.Forward(x, n, qkv);                                          // columns [q | k | v]
        _rotary.Apply(qkv, n, width, 0, Config.Heads, seq.Cos!, seq.Sin!);
        _rotary.Apply(qkv, n, width, QWidth, Config.KvHeads, seq.Cos!, seq.Sin!);
        var context = seq.Work(2, (long)n * QWidth);
        Attention.Compute(qkv, n, width, 0, QWidth, QWidth + KvWidth, Config.Heads, Config.KvHeads, hd, MathF.Sqrt(hd), seq.Mask, context, probabilities);
        l.O.Forward(context, n, x);
        AddInto(h, x);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var l = _layers[layer];
        int n = seq.N, d = Config.Hidden, I = Config.Intermediate;
        var x = seq.Work(0, (long)n * d);
        Norms.RmsNorm(h, n, d, l.PostNorm, Config.NormEps, x);
        var gateUp = seq.Work(3, (long)n * 2 * I);
        l.GateUp.Forward(x, n, gateUp);                                    // columns [gate | up]
        var act = activations ?? seq.Work(4, (long)n * I);
        if (Config.Activation is "silu" or "swish") Activations.SiluGate(gateUp, n, I, act);
        else
            for (int i = 0; i < n; i++)
            {
                var gate = gateUp.AsSpan(i * 2 * I, I);
                Activations.Apply(Config.Activation, gate);
                System.Numerics.Tensors.TensorPrimitives.Multiply(gate, gateUp.AsSpan(i * 2 * I + I, I), act.AsSpan(i * I, I));
            }
        l.Down.Forward(act, n, x);
        AddInto(h, x);
    }

    protected override void FinalNorm(Span<float> h, int rows) => Norms.RmsNorm(h, rows, Config.Hidden, _norm, Config.NormEps, h);

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits) => MatMul.Multiply(h, rows, _lmHead, logits);
}
