using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// The pieces the rotary decoders share on the tape (Llama, Qwen3, Phi-3, OLMo 2, Gemma 2 and 3), as <see cref="RotaryDecoder"/>
/// has them for inference: each family's file writes its blocks from these.
/// <code>
///   embed:          h = e                                                    family hook (Gemma scales by √d)
///   self-attention: q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv);  q, k = norm_qk(q, k)     family hook (Qwen3, Gemma 3, OLMo 2)
///                   q, k = rope(q), rope(k)                                  the engine's tables: rope_scaling, partial rotary
///                   o_proj(softmax(cap(q·kᵀ / scale) + mask) · v)            GQA; cap only with attn_logit_softcapping
///   gated MLP:      down(act(gate(x)) ⊙ up(x))
///   head:           logits[position, t] = cap(norm(h[position]) · W_U[t])    W_U = lm_head, or embed_tokens when tied
/// </code>
/// Fused checkpoints (Phi-3's qkv_proj and gate_up_proj) are split into q, k, v and gate, up once, at load.
/// </summary>
abstract class DifferentiableRotaryDecoder : DifferentiableModel
{
    sealed record Projections(Var<float> Q, Var<float>? QBias, Var<float> K, Var<float>? KBias, Var<float> V, Var<float>? VBias,
        Var<float> O, Var<float>? OBias, Var<float> Gate, Var<float>? GateBias, Var<float> Up, Var<float>? UpBias, Var<float> Down, Var<float>? DownBias);

    /// <summary>One batch of passes: its input (the mask), its geometry, and the rotary tables of its length, made once.</summary>
    private protected sealed class Pass(ForwardInput input, int batch, AttentionShape shape)
    {
        readonly Dictionary<Rotary, (float[] Cos, float[] Sin)> _tables = new();
        public ForwardInput Input => input;
        public int Batch => batch;
        public int N => input.Ids.Length;
        public AttentionShape Shape => shape;
        public (float[] Cos, float[] Sin) Tables(Rotary rotary)
        {
            if (!_tables.TryGetValue(rotary, out var t)) _tables[rotary] = t = rotary.Tables(N);
            return t;
        }
    }

    readonly Weights _tokens, _head;
    readonly string _headName;
    readonly Projections[] _projections;
    readonly Var<float> _norm;
    readonly Rotary _rotary;
    readonly bool _zeroCentredNorms;

    private protected int QWidth => Config.Heads * Config.HeadDim;
    private protected int KvWidth => Config.KvHeads * Config.HeadDim;

    /// <summary>Scores are divided by this: √head_dim, or Gemma's √query_pre_attn_scalar (rounded to float as the engine's).</summary>
    double ScaleDivisor => MathF.Sqrt((float)(Config.QueryPreAttnScalar ?? Config.HeadDim));

    /// <param name="fusedProjections">Phi-3 stores q|k|v as one <c>qkv_proj</c> and gate|up as one <c>gate_up_proj</c>.</param>
    /// <param name="zeroCentredNorms">Gemma stores RMSNorm gains zero-centred: the gain is 1 + w.</param>
    /// <param name="prefixes">Where the decoder's tensors live (<c>model.</c>, or inside a multimodal checkpoint).</param>
    private protected DifferentiableRotaryDecoder(ModelConfig config, ICheckpoint checkpoint, Weights w, bool fusedProjections = false,
        bool zeroCentredNorms = false, params string[] prefixes) : base(config, checkpoint)
    {
        _zeroCentredNorms = zeroCentredNorms;
        if (prefixes.Length == 0) prefixes = ["model.", ""];
        w.Prefix = w.FindPrefix("embed_tokens.weight", prefixes) ?? prefixes[0];
        (_tokens, _head, _headName) = Unembedding(config, checkpoint, w.Prefix, "embed_tokens.weight", "lm_head.weight");
        _projections = new Projections[config.Layers];
        for (int i = 0; i < config.Layers; i++)
            _projections[i] = fusedProjections ? ReadFusedProjections(w, $"layers.{i}.") : ReadProjections(w, $"layers.{i}.");
        _norm = Gain(w, "norm.weight", config.Hidden);
        _rotary = NewRotary(config.RopeTheta, config.RopeScaling);
    }

    Projections ReadProjections(Weights w, string p)
    {
        int d = Config.Hidden, I = Config.Intermediate;
        var projections = new Projections(
            LinearWeight(w, p + "self_attn.q_proj.weight", QWidth, d), OptionalVector(w, p + "self_attn.q_proj.bias", QWidth),
            LinearWeight(w, p + "self_attn.k_proj.weight", KvWidth, d), OptionalVector(w, p + "self_attn.k_proj.bias", KvWidth),
            LinearWeight(w, p + "self_attn.v_proj.weight", KvWidth, d), OptionalVector(w, p + "self_attn.v_proj.bias", KvWidth),
            LinearWeight(w, p + "self_attn.o_proj.weight", d, QWidth), OptionalVector(w, p + "self_attn.o_proj.bias", d),
            LinearWeight(w, p + "mlp.gate_proj.weight", I, d), OptionalVector(w, p + "mlp.gate_proj.bias", I),
            LinearWeight(w, p + "mlp.up_proj.weight", I, d), OptionalVector(w, p + "mlp.up_proj.bias", I),
            LinearWeight(w, p + "mlp.down_proj.weight", d, I), OptionalVector(w, p + "mlp.down_proj.bias", d));
        if (Config.AttentionBias && projections.QBias is null)
            throw new ModelException($"{Path.GetFileName(w.Checkpoint.Path)}: missing tensor `{w.Prefix}{p}self_attn.q_proj.bias`; a {Config.ModelType} model has q/k/v biases");
        return projections;
    }

    /// <summary>Phi-3's fused matrices, split by rows: qkv_proj = [q (H·hd) | k (KV·hd) | v (KV·hd)], gate_up_proj = [gate (I) | up (I)].</summary>
    Projections ReadFusedProjections(Weights w, string p)
    {
        int d = Config.Hidden, I = Config.Intermediate, width = QWidth + 2 * KvWidth;
        var qkv = RowBlocks(w.Floats(p + "self_attn.qkv_proj.weight", width, d), d, QWidth, KvWidth, KvWidth);
        var qkvBias = w.OptionalFloats(p + "self_attn.qkv_proj.bias", width) is { } b ? RowBlocks(b, 1, QWidth, KvWidth, KvWidth) : null;
        var gateUp = RowBlocks(w.Floats(p + "mlp.gate_up_proj.weight", 2 * I, d), d, I, I);
        var gateUpBias = w.OptionalFloats(p + "mlp.gate_up_proj.bias", 2 * I) is { } g ? RowBlocks(g, 1, I, I) : null;
        return new Projections(qkv[0], qkvBias?[0], qkv[1], qkvBias?[1], qkv[2], qkvBias?[2],
            LinearWeight(w, p + "self_attn.o_proj.weight", d, QWidth), OptionalVector(w, p + "self_attn.o_proj.bias", d),
            gateUp[0], gateUpBias?[0], gateUp[1], gateUpBias?[1],
            LinearWeight(w, p + "mlp.down_proj.weight", d, I), OptionalVector(w, p + "mlp.down_proj.bias", d));
    }

    /// <summary>Consecutive blocks of <paramref name="rows"/> rows of <paramref name="cols"/> each, as constants ([rows, cols], or [rows] when cols is 1).</summary>
    static Var<float>[] RowBlocks(float[] data, int cols, params int[] rows)
    {
        var blocks = new Var<float>[rows.Length];
        for (int i = 0, start = 0; i < rows.Length; start += rows[i] * cols, i++)
            blocks[i] = cols == 1 ? Constant(data[start..(start + rows[i])], rows[i]) : Constant(data[start..(start + rows[i] * cols)], rows[i], cols);
        return blocks;
    }

    /// <summary>An RMSNorm gain: the stored weight, or 1 + w for Gemma's zero-centred ones (rounded to float32 as the engine's).</summary>
    private protected Var<float> Gain(Weights w, string name, int dim)
    {
        var gain = w.Floats(name, dim);
        if (_zeroCentredNorms) System.Numerics.Tensors.TensorPrimitives.Add(gain, 1f, gain);
        return Constant(gain, dim);
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _tokens.Rows("embed_tokens.weight", Config.Vocab, Config.Hidden, ids);

    public sealed override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        int n = input.Ids.Length;
        var pass = new Pass(input, batch, new AttentionShape(batch, n, Config.Heads, Config.KvHeads, Config.HeadDim));
        var h = Embed(tape, e);
        for (int layer = 0; layer < Config.Layers; layer++)
        {
            h = AttentionBlock(tape, layer, h, pass);
            h = MlpBlock(tape, layer, h, pass);
        }
        var final = RmsNorm(tape, RowsAt(tape, h, batch, n, position), _norm);
        var logits = tape.Linear(final, Constant(_head.Rows(_headName, Config.Vocab, Config.Hidden, tokens), tokens.Length, Config.Hidden));
        return Config.FinalLogitSoftcap > 0 ? tape.SoftCap(logits, Config.FinalLogitSoftcap) : logits;
    }

    // ---------------------------------------------------------------- what families write or change

    /// <summary>h after layer <paramref name="layer"/>'s attention sub-block (where its norms sit is the family's).</summary>
    private protected abstract Var<float> AttentionBlock(Tape<float> tape, int layer, Var<float> h, Pass pass);

    /// <summary>h after layer <paramref name="layer"/>'s MLP sub-block.</summary>
    private protected abstract Var<float> MlpBlock(Tape<float> tape, int layer, Var<float> h, Pass pass);

    /// <summary>The residual stream's first value from the token rows e; e itself by default.</summary>
    private protected virtual Var<float> Embed(Tape<float> tape, Var<float> e) => e;

    /// <summary>q [rows, H·hd] and k [rows, KV·hd] before RoPE (Qwen3, Gemma 3, OLMo 2 normalise them); as they are by default.</summary>
    private protected virtual (Var<float> Q, Var<float> K) NormalizeQueriesAndKeys(Tape<float> tape, int layer, Var<float> q, Var<float> k) => (q, k);

    /// <summary>The rotary table of layer <paramref name="layer"/> (Gemma 3 has a local one for its sliding layers).</summary>
    private protected virtual Rotary RotaryOf(int layer) => _rotary;

    // ---------------------------------------------------------------- the shared pieces

    /// <summary>o_proj(attention(rope(q), rope(k), v)) of the rows x [batch·n, d].</summary>
    private protected Var<float> SelfAttention(Tape<float> tape, int layer, Var<float> x, Pass pass)
    {
        var p = _projections[layer];
        int hd = Config.HeadDim;
        var (q, k) = NormalizeQueriesAndKeys(tape, layer, tape.Linear(x, p.Q, p.QBias), tape.Linear(x, p.K, p.KBias));
        var (cos, sin) = pass.Tables(RotaryOf(layer));
        q = tape.Rotary(q, pass.N, hd, cos, sin);
        k = tape.Rotary(k, pass.N, hd, cos, sin);
        var z = tape.Attention(q, k, tape.Linear(x, p.V, p.VBias), pass.Shape, MaskOf(pass.Input, layer), ScaleDivisor, Config.AttnLogitSoftcap);
        return tape.Linear(z, p.O, p.OBias);
    }

    /// <summary>down(act(gate(x)) ⊙ up(x)): SwiGLU, or GeGLU for Gemma's gelu_pytorch_tanh.</summary>
    private protected Var<float> GatedMlp(Tape<float> tape, int layer, Var<float> x)
    {
        var p = _projections[layer];
        var (gate, up) = (tape.Linear(x, p.Gate, p.GateBias), tape.Linear(x, p.Up, p.UpBias));
        var act = Config.Activation is "silu" or "swish" ? tape.SiluGate(gate, up) : tape.Mul(Activation(tape, gate), up);
        return tape.Linear(act, p.Down, p.DownBias);
    }

    /// <summary>RMSNorm of rows of d with the config's eps.</summary>
    private protected Var<float> RmsNorm(Tape<float> tape, Var<float> x, Var<float> gain) => tape.RmsNorm(x, gain, Config.NormEps);
}
