using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// The BERT family (bert, roberta, xlm-roberta, distilbert): a post-norm bidirectional encoder.
/// <code>
///   h = LayerNorm((word[ids] + token_type[tt]) + position[pos])
///   per layer:  h = LayerNorm(h + dense(attention(q(h), k(h), v(h))))     padded keys never attended
///               h = LayerNorm(h + output(gelu(intermediate(h))))
///   logits = LayerNorm(gelu(transform(h))) · wordᵀ + bias                 the masked-LM head, if stored
/// </code>
/// RoBERTa counts positions from padding_idx + 1 and skips padding; DistilBERT has no token types and its own names.
/// </summary>
public sealed class Bert : LanguageModel
{
    sealed record Layer(Linear Qkv, Linear AttnOut, LayerNormWeights AttnNorm, Linear Intermediate, Linear Output, LayerNormWeights OutNorm);
    sealed record MlmHead(Linear Transform, LayerNormWeights Norm, WeightMatrix Decoder, float[] PaddedBias);

    readonly float[] _word;
    readonly float[] _position;
    readonly float[]? _tokenType;
    readonly LayerNormWeights _embedNorm;
    readonly Layer[] _layers;
    readonly MlmHead? _head;
    readonly bool _robertaPositions;

    Bert(ModelConfig config, string folder, Weights w) : base(config, folder)
    {
        int d = config.Hidden, I = config.Intermediate, V = config.Vocab;
        _robertaPositions = config.ModelType is "roberta" or "xlm-roberta";
        var (names, head) = Naming(config, w);

        _word = w.Floats("embeddings.word_embeddings.weight", V, d);
        _position = w.Floats("embeddings.position_embeddings.weight", config.MaxPositions, d);
        _tokenType = config.TypeVocab > 0 ? w.Floats("embeddings.token_type_embeddings.weight", config.TypeVocab, d) : null;
        _embedNorm = LayerNormWeights.Read(w, "embeddings.LayerNorm", d, config.NormEps);
        _layers = new Layer[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = string.Format(names.Layer, i);
            var qkv = new[] { (p + names.Query + ".weight", d), (p + names.Key + ".weight", d), (p + names.Value + ".weight", d) };
            _layers[i] = new Layer(
                new Linear(w.FusedLinearWeight(d, qkv), w.FusedBias((p + names.Query + ".bias", d), (p + names.Key + ".bias", d), (p + names.Value + ".bias", d))),
                new Linear(w.LinearWeight(p + names.AttnOut + ".weight", d, d), w.Floats(p + names.AttnOut + ".bias", d)),
                LayerNormWeights.Read(w, p + names.AttnNorm, d, config.NormEps),
                new Linear(w.LinearWeight(p + names.Intermediate + ".weight", I, d), w.Floats(p + names.Intermediate + ".bias", I)),
                new Linear(w.LinearWeight(p + names.Output + ".weight", d, I), w.Floats(p + names.Output + ".bias", d)),
                LayerNormWeights.Read(w, p + names.OutNorm, d, config.NormEps));
        }

        // The masked-LM head lives outside the encoder prefix; its decoder is tied to the word embeddings unless stored.
        w.Prefix = "";
        if (w.Has(head.Transform + ".weight"))
        {
            WeightMatrix decoder = w.Has(head.Decoder + ".weight") && !config.TieWordEmbeddings
                ? w.LinearWeight(head.Decoder + ".weight", V, d)
                : PackedMatrix.FromTransposed(_word, V, d);
            var bias = w.Has(head.Bias) ? w.Floats(head.Bias, V) : w.Floats(head.Decoder + ".bias", V);
            _head = new MlmHead(
                new Linear(w.LinearWeight(head.Transform + ".weight", d, d), w.Floats(head.Transform + ".bias", d)),
                LayerNormWeights.Read(w, head.Norm, d, config.NormEps),
                decoder,
                new Linear(decoder, bias).PaddedBias!);
        }
    }

    /// <summary>The tensor names of this variant, with <paramref name="w"/>'s prefix set to where the encoder's tensors are.</summary>
    internal static (Names Encoder, HeadNames Head) Naming(ModelConfig config, Weights w)
    {
        bool distil = config.ModelType == "distilbert", roberta = config.ModelType is "roberta" or "xlm-roberta";
        // BertForMaskedLM stores "bert.", RobertaForMaskedLM "roberta.", a bare BertModel no prefix at all.
        string root = distil ? "distilbert." : roberta ? "roberta." : "bert.";
        w.Prefix = w.FindPrefix("embeddings.word_embeddings.weight", root, "bert.", "roberta.", "") ?? root;
        return (distil ? Names.DistilBert : Names.Bert, distil ? Names.DistilHead : roberta ? Names.RobertaHead : Names.BertHead);
    }

    internal static Bert Load(ModelConfig config, string folder, Weights w)
    {
        var head = config.ModelType == "distilbert" ? Names.DistilHead : config.ModelType is "roberta" or "xlm-roberta" ? Names.RobertaHead : Names.BertHead;
        bool hasHead = w.HasExact(head.Transform + ".weight");
        return new Bert(config with { HasLmHead = hasHead }, folder, w);
    }

    /// <summary>True when the checkpoint has a masked-LM head (BertForMaskedLM), false for a bare encoder.</summary>
    public bool HasMaskedLmHead => _head is not null;

    protected override void Prepare(Sequence seq)
    {
        int offset = _robertaPositions ? (Config.PadTokenId ?? 1) + 1 : 0;
        if (seq.N + offset > Config.MaxPositions)
            throw new ModelException($"{seq.N} tokens is more than this {Config.ModelType} model's {Config.MaxPositions - offset} positions");
        if (seq.Input.TokenTypeIds is { } tt && tt.Any(t => t < 0 || t >= Math.Max(1, Config.TypeVocab)))
            throw new ModelException($"token type ids must be in 0..{Math.Max(1, Config.TypeVocab) - 1}");
    }

    int[] Positions(ForwardInput input) => Positions(Config, input.Ids);

    /// <summary>Position ids: 0..n−1, or RoBERTa's padding_idx + 1 + (count of real tokens so far), padding_idx for padding.</summary>
    internal static int[] Positions(ModelConfig config, int[] ids)
    {
        int n = ids.Length;
        var pos = new int[n];
        if (config.ModelType is not ("roberta" or "xlm-roberta"))
        {
            for (int i = 0; i < n; i++) pos[i] = i;
            return pos;
        }
        int pad = config.PadTokenId ?? 1, count = 0;
        for (int i = 0; i < n; i++) pos[i] = ids[i] == pad ? pad : pad + ++count;
        return pos;
    }

    protected override void EmbeddingRow(int id, Span<float> row) => _word.AsSpan(id * Config.Hidden, Config.Hidden).CopyTo(row);

    protected override float[] Embed(Sequence seq)
    {
        int n = seq.N, d = Config.Hidden;
        var h = Scratch((long)n * d);
        var pos = Positions(seq.Input);
        for (int i = 0; i < n; i++)
        {
            var row = h.AsSpan(i * d, d);
            _word.AsSpan(seq.Input.Ids[i] * d, d).CopyTo(row);
            if (_tokenType is not null) AddInto(row, _tokenType.AsSpan((seq.Input.TokenTypeIds?[i] ?? 0) * d, d));
            AddInto(row, _position.AsSpan(pos[i] * d, d));
        }
        _embedNorm.Apply(h, n, h);
        return h;
    }

    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities)
    {
        var l = _layers[layer];
        int n = seq.N, d = Config.Hidden, hd = Config.HeadDim;
        var qkv = seq.Work(1, (long)n * 3 * d);
        l.Qkv.Forward(h, n, qkv);
        var context = seq.Work(0, (long)n * d);
        Device.Attend(qkv, n, 3 * d, 0, d, 2 * d, Config.Heads, Config.Heads, hd, MathF.Sqrt(hd), seq.Mask, context, probabilities);
        seq.Hooks?.HeadOutputs(layer, context, n);
        var projected = seq.Work(2, (long)n * d);
        l.AttnOut.Forward(context, n, projected);
        AddInto(projected, h);
        l.AttnNorm.Apply(projected, n, h);
    }

    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations)
    {
        var l = _layers[layer];
        int n = seq.N, d = Config.Hidden;
        var u = activations ?? seq.Work(3, (long)n * Config.Intermediate);
        l.Intermediate.Forward(h, n, u);
        seq.Hooks?.MlpPreActivation(layer, u, n, Config.Intermediate, Config.Intermediate);
        Activations.Apply(Config.Activation, u);
        var o = seq.Work(2, (long)n * d);
        l.Output.Forward(u, n, o);
        seq.Hooks?.MlpOutput(layer, o, n);
        AddInto(o, h);
        l.OutNorm.Apply(o, n, h);
    }

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits)
    {
        var head = _head ?? throw new ModelException($"{Folder}: this {Config.ModelType} checkpoint has no masked-LM head, so it cannot give logits");
        int d = Config.Hidden;
        var t = Scratch((long)rows * d);
        head.Transform.Forward(h, rows, t);
        Activations.Apply(Config.Activation, t);
        head.Norm.Apply(t, rows, t);
        MatMul.Multiply(t, rows, head.Decoder, logits, head.PaddedBias);
    }

    /// <summary>Tensor names of each naming scheme (relative to the encoder prefix).</summary>
    internal sealed record Names(string Layer, string Query, string Key, string Value, string AttnOut, string AttnNorm, string Intermediate, string Output, string OutNorm)
    {
        public static readonly Names Bert = new("encoder.layer.{0}.", "attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm");
        public static readonly Names DistilBert = new("transformer.layer.{0}.", "attention.q_lin", "attention.k_lin", "attention.v_lin",
            "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm");
        public static readonly HeadNames BertHead = new("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.decoder", "cls.predictions.bias");
        public static readonly HeadNames RobertaHead = new("lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias");
        public static readonly HeadNames DistilHead = new("vocab_transform", "vocab_layer_norm", "vocab_projector", "vocab_projector.bias");
    }

    internal sealed record HeadNames(string Transform, string Norm, string Decoder, string Bias);
}
