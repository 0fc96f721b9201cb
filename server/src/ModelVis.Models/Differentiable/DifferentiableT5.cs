using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="T5"/> on the tape. The variables are the encoder's token rows e (the input the logit is explained by); the
/// decoder reads its own ids (<see cref="ForwardInput.DecoderIds"/>) as constants, and the position is a decoder position.
/// <code>
///   encoder:  h = e
///             per block:  h = h + o(attention(rms(h), rms(h)) + bias)         bidirectional buckets; padded keys masked; no 1/√d_kv
///                         h = h + ff(rms(h))                                   ff(x) = wo(relu(wi·x)), or wo(gelu_tanh(wi_0·x) ⊙ wi_1·x)
///             m = rms(h)                                                      encoder.final_layer_norm
///   decoder:  h = shared[decoder_input_ids]
///             per block:  h = h + o(attention(rms(h), rms(h)) + bias)         causal; one-directional buckets
///                         h = h + o(attention(q(rms(h)), k(m), v(m)))          cross-attention: no position bias, padded encoder keys masked
///                         h = h + ff(rms(h))
///   logits[position, t] = (rms(h[position]) · d_model^−½) · shared[t]          tied; untied (T5 v1.1): lm_head[t], no rescale
/// </code>
/// The bias tables are block 0's of each stack, shared by its blocks; buckets as <see cref="T5.RelativePositionBucket"/>.
/// </summary>
sealed class DifferentiableT5 : DifferentiableModel
{
    sealed record AttentionWeights(Var<float> Q, Var<float> K, Var<float> V, Var<float> O);

    /// <summary>One block's weights; the cross-attention ones only in the decoder. Wi1 only when gated.</summary>
    sealed record Block(Var<float> SelfNorm, AttentionWeights Self, Var<float>? CrossNorm, AttentionWeights? Cross,
        Var<float> FfNorm, Var<float> Wi, Var<float>? Wi1, Var<float> Wo);

    readonly Weights _tokens, _head;
    readonly string _tokensName, _headName;
    readonly Block[] _encoder, _decoder;
    readonly float[] _encoderTable, _decoderTable;
    readonly Var<float> _encoderNorm, _decoderNorm;
    readonly float _headScale;

    public DifferentiableT5(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint)
    {
        int d = config.Hidden;
        // save_pretrained keeps the shared table; a few older checkpoints have only the encoder's copy.
        _tokensName = w.Has("shared.weight") || !w.Has("encoder.embed_tokens.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
        (_tokens, _head, _headName) = Unembedding(config, checkpoint, "", _tokensName, "lm_head.weight");
        _encoder = [.. Enumerable.Range(0, config.EncoderLayers).Select(i => ReadBlock(w, $"encoder.block.{i}.layer.", decoder: false))];
        _decoder = [.. Enumerable.Range(0, config.Layers).Select(i => ReadBlock(w, $"decoder.block.{i}.layer.", decoder: true))];
        const string table = "block.0.layer.0.SelfAttention.relative_attention_bias.weight";
        _encoderTable = w.Floats("encoder." + table, config.RelativeAttentionBuckets, config.Heads);
        _decoderTable = w.Floats("decoder." + table, config.RelativeAttentionBuckets, config.Heads);
        _encoderNorm = Vector(w, "encoder.final_layer_norm.weight", d);
        _decoderNorm = Vector(w, "decoder.final_layer_norm.weight", d);
        _headScale = _headName == _tokensName ? (float)Math.Pow(d, -0.5) : 1f;
    }

    Block ReadBlock(Weights w, string p, bool decoder)
    {
        int d = Config.Hidden, inner = Config.Heads * Config.HeadDim, ff = Config.Intermediate;
        AttentionWeights ReadAttention(string a) => new(LinearWeight(w, a + "q.weight", inner, d), LinearWeight(w, a + "k.weight", inner, d),
            LinearWeight(w, a + "v.weight", inner, d), LinearWeight(w, a + "o.weight", d, inner));
        string f = p + (decoder ? "2." : "1."), dense = f + "DenseReluDense.";
        return new Block(
            Vector(w, p + "0.layer_norm.weight", d), ReadAttention(p + "0.SelfAttention."),
            decoder ? Vector(w, p + "1.layer_norm.weight", d) : null, decoder ? ReadAttention(p + "1.EncDecAttention.") : null,
            Vector(w, f + "layer_norm.weight", d),
            LinearWeight(w, dense + (Config.GatedMlp ? "wi_0.weight" : "wi.weight"), ff, d),
            Config.GatedMlp ? LinearWeight(w, dense + "wi_1.weight", ff, d) : null,
            LinearWeight(w, dense + "wo.weight", d, ff));
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _tokens.Rows(_tokensName, Config.Vocab, Config.Hidden, ids);

    public override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        if (input.DecoderIds is not { Length: > 0 } decoderIds)
            throw new ModelException($"{Config.ModelType} is an encoder-decoder: give the decoder's input ids too (starting with decoder_start_token_id {Config.DecoderStartTokenId})");
        int n = input.Ids.Length, m = decoderIds.Length, d = Config.Hidden, H = Config.Heads, hd = Config.HeadDim;
        var encoderKeys = new AttentionMask(false, input.AttentionMask is { } mask && mask.Contains(0) ? mask : null);

        // The encoder, from the variables.
        var encoderBias = T5.RelativeBias(Config, _encoderTable, n, bidirectional: true);
        var encoderShape = new AttentionShape(batch, n, H, H, hd);
        var h = e;
        foreach (var b in _encoder)
        {
            h = tape.Add(h, SelfAttention(tape, b.Self, Rms(tape, h, b.SelfNorm), encoderShape, encoderKeys, encoderBias));
            h = tape.Add(h, FeedForward(tape, b, Rms(tape, h, b.FfNorm)));
        }
        var memory = Rms(tape, h, _encoderNorm);

        // The decoder, from its own ids' rows (constants), reading the encoder's output.
        var rows = _tokens.Rows(_tokensName, Config.Vocab, d, decoderIds);
        var decoderRows = new float[batch * rows.Length];
        for (int i = 0; i < batch; i++) rows.CopyTo(decoderRows, i * rows.Length);
        var decoderBias = T5.RelativeBias(Config, _decoderTable, m, bidirectional: false);
        var decoderShape = new AttentionShape(batch, m, H, H, hd);
        h = Constant(decoderRows, batch * m, d);
        foreach (var b in _decoder)
        {
            h = tape.Add(h, SelfAttention(tape, b.Self, Rms(tape, h, b.SelfNorm), decoderShape, new AttentionMask(true), decoderBias));
            var c = b.Cross!;
            var z = tape.Attention(tape.Linear(Rms(tape, h, b.CrossNorm!), c.Q), tape.Linear(memory, c.K), tape.Linear(memory, c.V),
                decoderShape, n, encoderKeys, 1, null);
            h = tape.Add(h, tape.Linear(z, c.O));
            h = tape.Add(h, FeedForward(tape, b, Rms(tape, h, b.FfNorm)));
        }
        var final = Rms(tape, RowsAt(tape, h, batch, m, position), _decoderNorm);
        if (_headScale != 1f) final = tape.Scale(final, _headScale);
        return tape.Linear(final, Constant(_head.Rows(_headName, Config.Vocab, d, tokens), tokens.Length, d));
    }

    static Var<float> SelfAttention(Tape<float> tape, AttentionWeights a, Var<float> x, AttentionShape shape, AttentionMask mask, float[] bias) =>
        tape.Linear(tape.Attention(tape.Linear(x, a.Q), tape.Linear(x, a.K), tape.Linear(x, a.V), shape, shape.SeqLen, mask, 1, bias), a.O);

    Var<float> FeedForward(Tape<float> tape, Block b, Var<float> x)
    {
        var act = Activation(tape, tape.Linear(x, b.Wi));
        return tape.Linear(b.Wi1 is null ? act : tape.Mul(act, tape.Linear(x, b.Wi1)), b.Wo);
    }

    Var<float> Rms(Tape<float> tape, Var<float> x, Var<float> gain) => tape.RmsNorm(x, gain, Config.NormEps);
}
