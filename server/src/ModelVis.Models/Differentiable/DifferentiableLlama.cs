using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Llama"/> (llama, mistral, qwen2) on the tape, from the token rows e:
/// <code>
///   h = e
///   per layer:  x = rms(h);  q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv);  q, k = rope(q), rope(k)
///               h = h + o_proj(attention(q, k, v))                        causal (sliding window for Mistral), GQA
///               h = h + down(silu(gate(rms(h))) ⊙ up(rms(h)))
///   logits[position, t] = norm(h[position]) · W_U[t]                      W_U = lm_head, or embed_tokens when tied
/// </code>
/// The rotary tables are the engine's (<see cref="Rotary"/>: rope_scaling and partial rotary included).
/// </summary>
sealed class DifferentiableLlama : DifferentiableModel
{
    sealed record Layer(Var<float> InputNorm, Var<float> Q, Var<float>? QBias, Var<float> K, Var<float>? KBias, Var<float> V, Var<float>? VBias,
        Var<float> O, Var<float>? OBias, Var<float> PostNorm, Var<float> Gate, Var<float>? GateBias, Var<float> Up, Var<float>? UpBias,
        Var<float> Down, Var<float>? DownBias);

    readonly Weights _tokens, _head;
    readonly string _headName;
    readonly Layer[] _layers;
    readonly Var<float> _norm;
    readonly Rotary _rotary;

    public DifferentiableLlama(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint)
    {
        int d = config.Hidden, I = config.Intermediate, qw = config.Heads * config.HeadDim, kvw = config.KvHeads * config.HeadDim;
        w.Prefix = w.FindPrefix("embed_tokens.weight", "model.", "") ?? "model.";
        _tokens = new Weights(checkpoint, config.ModelType, w.Prefix);
        // As TokenEmbedding: tied when the config says so or when no lm_head is stored.
        bool untied = !config.TieWordEmbeddings && checkpoint.TryGet("lm_head.weight", out _);
        _head = untied ? new Weights(checkpoint, config.ModelType) : _tokens;
        _headName = untied ? "lm_head.weight" : "embed_tokens.weight";
        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            _layers[i] = new Layer(
                Vector(w, p + "input_layernorm.weight", d),
                LinearWeight(w, p + "self_attn.q_proj.weight", qw, d), OptionalVector(w, p + "self_attn.q_proj.bias", qw),
                LinearWeight(w, p + "self_attn.k_proj.weight", kvw, d), OptionalVector(w, p + "self_attn.k_proj.bias", kvw),
                LinearWeight(w, p + "self_attn.v_proj.weight", kvw, d), OptionalVector(w, p + "self_attn.v_proj.bias", kvw),
                LinearWeight(w, p + "self_attn.o_proj.weight", d, qw), OptionalVector(w, p + "self_attn.o_proj.bias", d),
                Vector(w, p + "post_attention_layernorm.weight", d),
                LinearWeight(w, p + "mlp.gate_proj.weight", I, d), OptionalVector(w, p + "mlp.gate_proj.bias", I),
                LinearWeight(w, p + "mlp.up_proj.weight", I, d), OptionalVector(w, p + "mlp.up_proj.bias", I),
                LinearWeight(w, p + "mlp.down_proj.weight", d, I), OptionalVector(w, p + "mlp.down_proj.bias", d));
            if (config.AttentionBias && _layers[i].QBias is null)
                throw new ModelException($"{Path.GetFileName(checkpoint.Path)}: missing tensor `{w.Prefix}{p}self_attn.q_proj.bias`; a {config.ModelType} model has q/k/v biases");
        }
        _norm = Vector(w, "norm.weight", d);
        try { _rotary = new Rotary(config.RotaryDim, config.RopeTheta, config.MaxPositions, config.RopeScaling); }
        catch (ArgumentException e) { throw new ModelException($"{config.ModelType}: {e.Message}", e); }
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _tokens.Rows("embed_tokens.weight", Config.Vocab, Config.Hidden, ids);

    public override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        int n = input.Ids.Length, d = Config.Hidden, hd = Config.HeadDim;
        double eps = Config.NormEps;
        var shape = new AttentionShape(batch, n, Config.Heads, Config.KvHeads, hd);
        var (cos, sin) = _rotary.Tables(n);
        var h = e;
        for (int layer = 0; layer < _layers.Length; layer++)
        {
            var l = _layers[layer];
            var x = tape.RmsNorm(h, l.InputNorm, eps);
            var q = tape.Rotary(tape.Linear(x, l.Q, l.QBias), n, hd, cos, sin);
            var k = tape.Rotary(tape.Linear(x, l.K, l.KBias), n, hd, cos, sin);
            var z = tape.Attention(q, k, tape.Linear(x, l.V, l.VBias), shape, MaskOf(input, layer), Math.Sqrt(hd));
            h = tape.Add(h, tape.Linear(z, l.O, l.OBias));
            x = tape.RmsNorm(h, l.PostNorm, eps);
            var (gate, up) = (tape.Linear(x, l.Gate, l.GateBias), tape.Linear(x, l.Up, l.UpBias));
            var act = Config.Activation is "silu" or "swish" ? tape.SiluGate(gate, up) : tape.Mul(Activation(tape, gate), up);
            h = tape.Add(h, tape.Linear(act, l.Down, l.DownBias));
        }
        var final = tape.RmsNorm(RowsAt(tape, h, batch, n, position), _norm, eps);
        return tape.Linear(final, Constant(_head.Rows(_headName, Config.Vocab, d, tokens), tokens.Length, d));
    }
}
