using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Checkpoints;

namespace ModelVis.Models.Differentiable;

/// <summary>
/// <see cref="Bert"/> (bert, roberta, xlm-roberta, distilbert) with its masked-LM head on the tape, from the word rows e:
/// <code>
///   h = LayerNorm((e + token_type[tt]) + position[pos])
///   per layer:  h = LayerNorm(h + dense(attention(q(h), k(h), v(h))))     bidirectional; padded keys never attended
///               h = LayerNorm(h + output(gelu(intermediate(h))))
///   logits[position, t] = LayerNorm(gelu(transform(h[position]))) · W_dec[t] + bias[t]     W_dec tied to the word embeddings unless stored
/// </code>
/// </summary>
sealed class DifferentiableBert : DifferentiableModel
{
    sealed record Layer(Var<float> Q, Var<float> QBias, Var<float> K, Var<float> KBias, Var<float> V, Var<float> VBias,
        Var<float> AttnOut, Var<float> AttnOutBias, Var<float> AttnNormW, Var<float> AttnNormB,
        Var<float> Intermediate, Var<float> IntermediateBias, Var<float> Output, Var<float> OutputBias, Var<float> OutNormW, Var<float> OutNormB);

    readonly Weights _words, _decoder;
    readonly string _decoderName;
    readonly float[] _position;
    readonly float[]? _tokenType;
    readonly Var<float> _embedNormW, _embedNormB;
    readonly Layer[] _layers;
    readonly Var<float> _transform, _transformBias, _headNormW, _headNormB;
    readonly float[] _decoderBias;

    public DifferentiableBert(ModelConfig config, ICheckpoint checkpoint, Weights w) : base(config, checkpoint)
    {
        int d = config.Hidden, I = config.Intermediate, V = config.Vocab;
        var (names, head) = Bert.Naming(config, w);
        _words = new Weights(checkpoint, config.ModelType, w.Prefix);
        _position = w.Floats("embeddings.position_embeddings.weight", config.MaxPositions, d);
        _tokenType = config.TypeVocab > 0 ? w.Floats("embeddings.token_type_embeddings.weight", config.TypeVocab, d) : null;
        _embedNormW = Vector(w, "embeddings.LayerNorm.weight", d);
        _embedNormB = Vector(w, "embeddings.LayerNorm.bias", d);
        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = string.Format(names.Layer, i);
            _layers[i] = new Layer(
                LinearWeight(w, p + names.Query + ".weight", d, d), Vector(w, p + names.Query + ".bias", d),
                LinearWeight(w, p + names.Key + ".weight", d, d), Vector(w, p + names.Key + ".bias", d),
                LinearWeight(w, p + names.Value + ".weight", d, d), Vector(w, p + names.Value + ".bias", d),
                LinearWeight(w, p + names.AttnOut + ".weight", d, d), Vector(w, p + names.AttnOut + ".bias", d),
                Vector(w, p + names.AttnNorm + ".weight", d), Vector(w, p + names.AttnNorm + ".bias", d),
                LinearWeight(w, p + names.Intermediate + ".weight", I, d), Vector(w, p + names.Intermediate + ".bias", I),
                LinearWeight(w, p + names.Output + ".weight", d, I), Vector(w, p + names.Output + ".bias", d),
                Vector(w, p + names.OutNorm + ".weight", d), Vector(w, p + names.OutNorm + ".bias", d));
        }

        // The masked-LM head lives outside the encoder prefix.
        var top = new Weights(checkpoint, config.ModelType);
        if (!top.Has(head.Transform + ".weight"))
            throw new ModelException($"{Path.GetFileName(checkpoint.Path)}: this {config.ModelType} checkpoint has no masked-LM head (`{head.Transform}.weight`), so it has no logits to attribute");
        _transform = LinearWeight(top, head.Transform + ".weight", d, d);
        _transformBias = Vector(top, head.Transform + ".bias", d);
        _headNormW = Vector(top, head.Norm + ".weight", d);
        _headNormB = Vector(top, head.Norm + ".bias", d);
        bool untied = top.Has(head.Decoder + ".weight") && !config.TieWordEmbeddings;
        (_decoder, _decoderName) = untied ? (top, head.Decoder + ".weight") : (_words, "embeddings.word_embeddings.weight");
        _decoderBias = top.Has(head.Bias) ? top.Floats(head.Bias, V) : top.Floats(head.Decoder + ".bias", V);
    }

    public override float[] EmbeddingRows(IReadOnlyList<int> ids) => _words.Rows("embeddings.word_embeddings.weight", Config.Vocab, Config.Hidden, ids);

    public override Var<float> Logits(Tape<float> tape, Var<float> e, int batch, ForwardInput input, int position, int[] tokens)
    {
        CheckInput(e, batch, input);
        int n = input.Ids.Length, d = Config.Hidden, hd = Config.HeadDim;
        var pos = Bert.Positions(Config, input.Ids);
        if (pos.Max() >= Config.MaxPositions) throw new ModelException($"{n} tokens is more than this {Config.ModelType} model's positions");
        if (input.TokenTypeIds is { } tt && tt.Any(t => t < 0 || t >= Math.Max(1, Config.TypeVocab)))
            throw new ModelException($"token type ids must be in 0..{Math.Max(1, Config.TypeVocab) - 1}");
        double eps = Config.NormEps;
        var x = e;
        if (_tokenType is not null) x = tape.AddRows(x, Constant(Rows(_tokenType, d, input.TokenTypeIds ?? new int[n]), n, d));
        x = tape.AddRows(x, Constant(Rows(_position, d, pos), n, d));
        var h = tape.LayerNorm(x, _embedNormW, _embedNormB, eps);
        var shape = new AttentionShape(batch, n, Config.Heads, Config.Heads, hd);
        for (int layer = 0; layer < _layers.Length; layer++)
        {
            var l = _layers[layer];
            var z = tape.Attention(tape.Linear(h, l.Q, l.QBias), tape.Linear(h, l.K, l.KBias), tape.Linear(h, l.V, l.VBias), shape, MaskOf(input, layer), Math.Sqrt(hd));
            h = tape.LayerNorm(tape.Add(tape.Linear(z, l.AttnOut, l.AttnOutBias), h), l.AttnNormW, l.AttnNormB, eps);
            var o = tape.Linear(Activation(tape, tape.Linear(h, l.Intermediate, l.IntermediateBias)), l.Output, l.OutputBias);
            h = tape.LayerNorm(tape.Add(o, h), l.OutNormW, l.OutNormB, eps);
        }
        var t = tape.LayerNorm(Activation(tape, tape.Linear(RowsAt(tape, h, batch, n, position), _transform, _transformBias)), _headNormW, _headNormB, eps);
        var decoder = Constant(_decoder.Rows(_decoderName, Config.Vocab, d, tokens), tokens.Length, d);
        return tape.Linear(t, decoder, Constant([.. tokens.Select(id => _decoderBias[id])], tokens.Length));
    }

    static float[] Rows(float[] table, int d, int[] ids)
    {
        var rows = new float[ids.Length * d];
        for (int i = 0; i < ids.Length; i++) Array.Copy(table, ids[i] * d, rows, i * d, d);
        return rows;
    }
}
