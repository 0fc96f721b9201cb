using ModelVis.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ModelVis.Models;

/// <summary>
/// The pieces the rotary decoder families share (Llama, Qwen3, Phi-3, OLMo 2, Gemma 2 and 3): where they differ is
/// where the norms sit and what happens to q and k, so each family's file writes its blocks from these.
/// <code>
///   embed:          h = embed_tokens[ids]                                    untied: rows of the table; tied: columns of the head
///   self-attention: q | k | v = x·W_qkv (+b);  q, k = norm_qk(q, k)          family hook (Qwen3, Gemma 3, OLMo 2)
///                   q, k = rope(q), rope(k)                                  HF rotate_half on the first rotary_dim channels
///                   o_proj(softmax(cap(q·kᵀ / scale) + mask) · v)            GQA: query head j uses kv head j / (H/KV)
///   gated MLP:      down(act(gate(x)) * up(x))
///   head:           logits = cap(h · lm_headᵀ)                               cap only with final_logit_softcapping
/// </code>
/// </summary>
public abstract class RotaryDecoder : LanguageModel
{
    /// <summary>One layer's matrices: [q | k | v] and o for attention, [gate | up] and down for the MLP.</summary>
    private protected sealed record Projections(Linear Qkv, Linear O, Linear GateUp, Linear Down);

    readonly TokenEmbedding _embedding;
    readonly float[] _norm;
    readonly Rotary _rotary;
    readonly Projections[] _projections;
    readonly bool _zeroCentredNorms;

    protected int QWidth => Config.Heads * Config.HeadDim;
    protected int KvWidth => Config.KvHeads * Config.HeadDim;
    /// <summary>Scores are divided by this: √head_dim, or Gemma's √query_pre_attn_scalar.</summary>
    protected float ScaleDivisor => MathF.Sqrt((float)(Config.QueryPreAttnScalar ?? Config.HeadDim));

    /// <param name="fusedProjections">Phi-3 stores q|k|v as one <c>qkv_proj</c> and gate|up as one <c>gate_up_proj</c>.</param>
    /// <param name="zeroCentredNorms">Gemma stores RMSNorm gains zero-centred: the gain is 1 + w.</param>
    /// <param name="prefixes">Where the decoder's tensors live (<c>model.</c>, or inside a multimodal checkpoint).</param>
    private protected RotaryDecoder(ModelConfig config, string folder, Weights w, bool fusedProjections = false, bool zeroCentredNorms = false, params string[] prefixes)
        : base(config, folder)
    {
        _zeroCentredNorms = zeroCentredNorms;
        int d = config.Hidden, V = config.Vocab;
        if (prefixes.Length == 0) prefixes = ["model.", ""];
        w.Prefix = w.FindPrefix("embed_tokens.weight", prefixes) ?? prefixes[0];
        _embedding = new TokenEmbedding(w, "embed_tokens.weight", "lm_head.weight", config.TieWordEmbeddings, V, d);

        _projections = new Projections[config.Layers];
        for (int i = 0; i < config.Layers; i++)
            _projections[i] = fusedProjections ? ReadFusedProjections(w, $"layers.{i}.") : ReadProjections(w, $"layers.{i}.");
        _norm = Gain(w, "norm.weight", d);
        _rotary = NewRotary(config.RopeTheta, config.RopeScaling);
    }

    Projections ReadProjections(Weights w, string p)
    {
        int d = Config.Hidden, I = Config.Intermediate;
        var qkv = new[] { (p + "self_attn.q_proj.weight", QWidth), (p + "self_attn.k_proj.weight", KvWidth), (p + "self_attn.v_proj.weight", KvWidth) };
        var qkvBias = new[] { (p + "self_attn.q_proj.bias", QWidth), (p + "self_attn.k_proj.bias", KvWidth), (p + "self_attn.v_proj.bias", KvWidth) };
        if (Config.AttentionBias && !w.Has(qkvBias[0].Item1))
            throw new ModelException($"{Path.GetFileName(w.Checkpoint.Path)}: missing tensor `{w.Prefix}{qkvBias[0].Item1}`; a {Config.ModelType} model has q/k/v biases");
        var gateUp = new[] { (p + "mlp.gate_proj.weight", I), (p + "mlp.up_proj.weight", I) };
        return new Projections(
            new Linear(w.FusedLinearWeight(d, qkv), w.FusedBias(qkvBias)),
            new Linear(w.LinearWeight(p + "self_attn.o_proj.weight", d, QWidth), w.OptionalFloats(p + "self_attn.o_proj.bias", d)),
            new Linear(w.FusedLinearWeight(d, gateUp), w.FusedBias((p + "mlp.gate_proj.bias", I), (p + "mlp.up_proj.bias", I))),
            new Linear(w.LinearWeight(p + "mlp.down_proj.weight", d, I), w.OptionalFloats(p + "mlp.down_proj.bias", d)));
    }

    Projections ReadFusedProjections(Weights w, string p)
    {
        int d = Config.Hidden, I = Config.Intermediate, width = QWidth + 2 * KvWidth;
        return new Projections(
            new Linear(w.LinearWeight(p + "self_attn.qkv_proj.weight", width, d), w.OptionalFloats(p + "self_attn.qkv_proj.bias", width)),
            new Linear(w.LinearWeight(p + "self_attn.o_proj.weight", d, QWidth), w.OptionalFloats(p + "self_attn.o_proj.bias", d)),
            new Linear(w.LinearWeight(p + "mlp.gate_up_proj.weight", 2 * I, d), w.OptionalFloats(p + "mlp.gate_up_proj.bias", 2 * I)),
            new Linear(w.LinearWeight(p + "mlp.down_proj.weight", d, I), w.OptionalFloats(p + "mlp.down_proj.bias", d)));
    }

    /// <summary>An RMSNorm gain of <paramref name="dim"/> values: the stored weight, or 1 + w for Gemma's zero-centred ones (rounded to float32 as HF's <c>1.0 + weight.float()</c>).</summary>
    private protected float[] Gain(Weights w, string name, int dim)
    {
        var gain = w.Floats(name, dim);
        if (_zeroCentredNorms) TensorPrimitives.Add(gain, 1f, gain);
        return gain;
    }

    /// <summary>A rotary table over the config's rotary dimension with base <paramref name="theta"/>.</summary>
    private protected Rotary NewRotary(double theta, RopeScaling? scaling)
    {
        try { return new Rotary(Config.RotaryDim, theta, Config.MaxPositions, scaling); }
        catch (ArgumentException e) { throw new ModelException($"{Config.ModelType}: {e.Message}", e); }
    }

    // ---------------------------------------------------------------- what families may change

    /// <summary>The norms on q and k in the projected rows [n, q | k | v] before RoPE (Qwen3, Gemma 3, OLMo 2); none by default.</summary>
    protected virtual IReadOnlyList<RowNorm> QueryKeyNorms(int layer) => [];

    /// <summary>The rotary table of layer <paramref name="layer"/> (Gemma 3 has a local one for its sliding layers).</summary>
    protected virtual Rotary RotaryOf(int layer) => _rotary;

    // ---------------------------------------------------------------- the shared pieces

    protected override float[] Embed(Sequence seq)
    {
        var h = Scratch((long)seq.N * Config.Hidden);
        _embedding.Lookup(seq.Input.Ids, h);
        return h;
    }

    /// <summary>
    /// <paramref name="output"/> [n, d] = o_proj(attention(rope(q), rope(k), v)) of the input rows <paramref name="x"/> [n, d]
    /// (which may be the same buffer: it is read before the output is written).
    /// </summary>
    protected void SelfAttention(int layer, float[] x, Sequence seq, float[]? probabilities, float[] output)
    {
        var p = _projections[layer];
        int n = seq.N;
        var rotary = RotaryOf(layer);
        var (cos, sin) = seq.RotaryTables(rotary);
        var attention = new RotaryAttention(p.Qkv, p.O, Config.Heads, Config.KvHeads, Config.HeadDim, ScaleDivisor, Config.AttnLogitSoftcap,
            QueryKeyNorms(layer), rotary, cos, sin, MaskOf(seq, layer));
        var hooks = seq.Hooks;
        Device.SelfAttention(attention, x, n, seq.Work(1, (long)n * attention.Width), seq.Work(2, (long)n * QWidth), probabilities,
            hooks is null ? null : context => hooks.HeadOutputs(layer, context, n), output);
    }

    /// <summary>
    /// <paramref name="output"/> [n, d] = down(act(gate(x)) * up(x)); the product act(gate)·up goes to
    /// <paramref name="activations"/> [n, intermediate] when asked for. <paramref name="output"/> may be <paramref name="x"/>.
    /// </summary>
    protected void GatedMlp(int layer, float[] x, Sequence seq, float[]? activations, float[] output)
    {
        var p = _projections[layer];
        int n = seq.N, I = Config.Intermediate;
        var hooks = seq.Hooks;
        // The whole MLP in one call: on a GPU the [n, 2I] gate | up and [n, I] rows never leave it unless kept or hooked.
        Device.GatedMlp(x, n, p.GateUp, p.Down, Config.Activation, seq.Work(3, (long)n * 2 * I), activations ?? seq.Work(4, (long)n * I),
            keepActivations: activations is not null, hooks is null ? null : gateUp => hooks.MlpPreActivation(layer, gateUp, n, I, 2 * I), output);
    }

    /// <summary>RMSNorm of n rows of d, from <paramref name="x"/> to <paramref name="y"/> (which may be the same).</summary>
    protected void RmsNorm(ReadOnlySpan<float> x, int n, float[] gain, Span<float> y) => Norms.RmsNorm(x, n, Config.Hidden, gain, Config.NormEps, y);

    protected override void FinalNorm(Span<float> h, int rows) => RmsNorm(h, rows, _norm, h);

    protected override Linear? DirectOutputProjection(int layer) => _projections[layer].O;

    public override FinalNormSpec FinalNormParameters => new(false, _norm, null, Config.NormEps);

    protected override void UnembeddingRow(int id, Span<float> row) => _embedding.HeadRow(id, row);

    protected override void EmbeddingRow(int id, Span<float> row) => _embedding.Row(id, row);

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits)
    {
        _embedding.Head(h, rows, logits);
        if (Config.FinalLogitSoftcap > 0) Activations.SoftCap(logits, Config.FinalLogitSoftcap);
    }
}
