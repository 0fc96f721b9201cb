using ModelVis.Checkpoints;
using ModelVis.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ModelVis.Models;

/// <summary>
/// T5: an encoder-decoder. The encoder reads the input bidirectionally; the decoder reads its own ids causally and,
/// in every block, attends to the encoder's output (cross-attention). Positions enter only as a learned bias on the
/// attention scores, one value per head and per bucket of the relative distance key − query.
/// <code>
///   rms(x) = w · x / √(mean(x²) + eps)                                        T5's layer norm: no mean, no bias
///   bias[h, i, j] = table[bucket(j − i), h]                                   table in block 0 of each stack, shared by all its blocks
///   attention(x, m) = o(softmax(q(x)·k(m)ᵀ + bias + mask) · v(m))             no 1/√d_kv: T5 folds it into the init
///   ff(x) = wo(act(wi·x))                                                     feed_forward_proj "relu"
///         = wo(act(wi_0·x) * wi_1·x)                                          "gated-gelu" (tanh GELU): T5 v1.1, flan-t5
///
///   encoder:  h = shared[input_ids]
///             per block:  h = h + attention(rms(h), rms(h))                   bidirectional buckets; padded keys masked
///                         h = h + ff(rms(h))
///             e = rms(h)                                                      encoder.final_layer_norm: the encoder output
///   decoder:  h = shared[decoder_input_ids]
///             per block:  h = h + attention(rms(h), rms(h))                   causal; one-directional buckets
///                         h = h + attention(rms(h), e)                        cross-attention: no position bias, padded encoder keys masked
///                         h = h + ff(rms(h))
///   logits = lm_head(rms(h) · d_model^−½)                                     tied (lm_head = shared): rescaled first
///          = lm_head(rms(h))                                                  untied (T5 v1.1): no rescale
///
///   bucket(r), B buckets, distance D:  bidirectional: B ← B/2, r &gt; 0 adds B, n = |r|;  causal: n = max(−r, 0)
///     n &lt; B/2 → n;  else B/2 + ⌊log(n / (B/2)) / log(D / (B/2)) · (B − B/2)⌋, at most B − 1     (float32, as torch)
/// </code>
/// The decoder is the stack that makes the logits, so the <see cref="LanguageModel"/> pieces are the decoder's
/// (<see cref="ModelConfig.Layers"/> = decoder blocks, <see cref="AttentionBlock"/> its self-attention); a forward pass runs
/// the encoder first and keeps its results in <see cref="CaptureResult.Encoder"/>.
/// </summary>
public sealed class T5 : LanguageModel
{
    /// <summary>One block's weights; the cross-attention ones only in the decoder. Wi is [wi_0 | wi_1] when gated.</summary>
    sealed record Block(float[] SelfNorm, Linear Qkv, Linear O,
        float[]? CrossNorm, Linear? CrossQ, Linear? CrossKv, Linear? CrossO,
        float[] FfNorm, Linear Wi, Linear Wo);

    /// <summary>The encoder's output as the decoder sees it: its padding mask and, per decoder block, its keys and values [n, k | v].</summary>
    sealed record Memory(int N, int[]? KeyMask, float[][] KeysValues);

    readonly TokenEmbedding _embedding;
    readonly Block[] _encoder, _decoder;
    readonly float[] _encoderTable, _decoderTable;      // relative_attention_bias [buckets, heads] of block 0
    readonly float[] _encoderNorm, _decoderNorm;
    readonly float _headScale;

    int Inner => Config.Heads * Config.HeadDim;

    T5(ModelConfig config, string folder, Weights w) : base(config, folder)
    {
        int d = config.Hidden, V = config.Vocab;
        // save_pretrained keeps the shared table; a few older checkpoints have only the encoder's copy.
        var shared = w.Has("shared.weight") || !w.Has("encoder.embed_tokens.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
        _embedding = new TokenEmbedding(w, shared, "lm_head.weight", config.TieWordEmbeddings, V, d);
        _encoder = Enumerable.Range(0, config.EncoderLayers).Select(i => ReadBlock(w, $"encoder.block.{i}.layer.", decoder: false)).ToArray();
        _decoder = Enumerable.Range(0, config.Layers).Select(i => ReadBlock(w, $"decoder.block.{i}.layer.", decoder: true)).ToArray();
        const string table = "block.0.layer.0.SelfAttention.relative_attention_bias.weight";
        _encoderTable = w.Floats("encoder." + table, config.RelativeAttentionBuckets, config.Heads);
        _decoderTable = w.Floats("decoder." + table, config.RelativeAttentionBuckets, config.Heads);
        _encoderNorm = w.Floats("encoder.final_layer_norm.weight", d);
        _decoderNorm = w.Floats("decoder.final_layer_norm.weight", d);
        _headScale = config.TieWordEmbeddings ? (float)Math.Pow(d, -0.5) : 1f;
    }

    internal static T5 Load(ModelConfig config, string folder, Weights w) => new(config, folder, w);

    Block ReadBlock(Weights w, string p, bool decoder)
    {
        int d = Config.Hidden, inner = Inner, ff = Config.Intermediate;
        Linear Fused(params (string Name, int Out)[] parts) => new(w.FusedLinearWeight(d, parts));
        Linear Single(string name, int outFeatures, int inFeatures) => new(w.LinearWeight(name, outFeatures, inFeatures));
        string self = p + "0.SelfAttention.", cross = p + "1.EncDecAttention.", f = p + (decoder ? "2." : "1.");
        return new Block(
            w.Floats(p + "0.layer_norm.weight", d),
            Fused((self + "q.weight", inner), (self + "k.weight", inner), (self + "v.weight", inner)),
            Single(self + "o.weight", d, inner),
            decoder ? w.Floats(p + "1.layer_norm.weight", d) : null,
            decoder ? Single(cross + "q.weight", inner, d) : null,
            decoder ? Fused((cross + "k.weight", inner), (cross + "v.weight", inner)) : null,
            decoder ? Single(cross + "o.weight", d, inner) : null,
            w.Floats(f + "layer_norm.weight", d),
            Config.GatedMlp
                ? Fused((f + "DenseReluDense.wi_0.weight", ff), (f + "DenseReluDense.wi_1.weight", ff))
                : Single(f + "DenseReluDense.wi.weight", ff, d),
            Single(f + "DenseReluDense.wo.weight", d, ff));
    }

    // ---------------------------------------------------------------- relative positions

    /// <summary>The bucket of relative position <paramref name="relative"/> = key − query, as T5Attention._relative_position_bucket.</summary>
    public static int RelativePositionBucket(int relative, bool bidirectional, int buckets, int maxDistance)
    {
        int bucket = 0, distance;
        if (bidirectional)
        {
            buckets /= 2;
            if (relative > 0) bucket += buckets;
            distance = Math.Abs(relative);
        }
        else distance = Math.Max(-relative, 0);
        int maxExact = buckets / 2;
        if (distance < maxExact) return bucket + distance;
        // float32 throughout, as torch computes it: the truncation lands on the same side at the bucket edges.
        float large = MathF.Log((float)distance / maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (buckets - maxExact);
        return bucket + Math.Min(maxExact + (int)large, buckets - 1);
    }

    /// <summary>The position bias of n queries over n keys as the attention kernel takes it: [heads, 2n − 1], offset key − query + n − 1.</summary>
    float[] RelativeBias(float[] table, int n, bool bidirectional) => RelativeBias(Config, table, n, bidirectional);

    /// <summary><see cref="RelativeBias(float[], int, bool)"/> of a relative_attention_bias table [buckets, heads] under <paramref name="config"/>.</summary>
    internal static float[] RelativeBias(ModelConfig config, float[] table, int n, bool bidirectional)
    {
        int H = config.Heads, width = 2 * n - 1;
        var bias = new float[H * width];
        for (int r = 0; r < width; r++)
        {
            int bucket = RelativePositionBucket(r - (n - 1), bidirectional, config.RelativeAttentionBuckets, config.RelativeAttentionMaxDistance);
            for (int h = 0; h < H; h++) bias[h * width + r] = table[bucket * H + h];
        }
        return bias;
    }

    // ---------------------------------------------------------------- sub-blocks

    void Rms(ReadOnlySpan<float> h, int n, float[] gain, Span<float> y) => Norms.RmsNorm(h, n, Config.Hidden, gain, Config.NormEps, y);

    /// <summary>h ← h + o(attention(rms(h))) over the sequence itself, with the stack's position bias; z goes to the pass's hooks (the decoder's).</summary>
    void SelfAttention(Block b, int layer, float[] h, Sequence seq, float[] bias, float[]? probabilities)
    {
        int n = seq.N, inner = Inner;
        var x = seq.Work(0, (long)n * Config.Hidden);
        Rms(h, n, b.SelfNorm, x);
        var qkv = seq.Work(1, (long)n * 3 * inner);
        b.Qkv.Forward(x, n, qkv);                                          // columns [q | k | v]
        var context = seq.Work(2, (long)n * inner);
        Device.Attend(qkv, n, 3 * inner, 0, inner, 2 * inner, Config.Heads, Config.Heads, Config.HeadDim, 1f,
            seq.Mask, context, probabilities, relativeBias: bias);
        seq.Hooks?.HeadOutputs(layer, context, n);
        b.O.Forward(context, n, x);
        AddInto(h, x);
    }

    /// <summary>h ← h + o(attention(q(rms(h)), encoder keys and values)): the decoder reading the encoder.</summary>
    void CrossAttention(Block b, int layer, float[] h, Sequence seq, Memory memory, float[]? probabilities)
    {
        int n = seq.N, inner = Inner;
        var x = seq.Work(0, (long)n * Config.Hidden);
        Rms(h, n, b.CrossNorm!, x);
        var q = seq.Work(5, (long)n * inner);
        b.CrossQ!.Forward(x, n, q);
        var context = seq.Work(2, (long)n * inner);
        Device.Attend(q, n, inner, 0, memory.KeysValues[layer], memory.N, 2 * inner, 0, inner,
            Config.Heads, Config.Heads, Config.HeadDim, 1f, new AttentionMask(false, memory.KeyMask), context, probabilities);
        seq.Hooks?.CrossHeadOutputs(layer, context, n);
        b.CrossO!.Forward(context, n, x);
        AddInto(h, x);
    }

    /// <summary>h ← h + wo(act(wi·rms(h))), or the gated form; act(·) (times wi_1·x when gated) to <paramref name="activations"/> [n, d_ff].</summary>
    void FeedForward(Block b, int layer, float[] h, Sequence seq, float[]? activations)
    {
        int n = seq.N, ff = Config.Intermediate;
        var x = seq.Work(0, (long)n * Config.Hidden);
        Rms(h, n, b.FfNorm, x);
        var act = activations ?? seq.Work(4, (long)n * ff);
        if (Config.GatedMlp)
        {
            var gateUp = seq.Work(3, (long)n * 2 * ff);
            b.Wi.Forward(x, n, gateUp);                                    // columns [wi_0 | wi_1]
            for (int i = 0; i < n; i++)
            {
                var gate = gateUp.AsSpan(i * 2 * ff, ff);
                Activations.Apply(Config.Activation, gate);
                TensorPrimitives.Multiply(gate, gateUp.AsSpan(i * 2 * ff + ff, ff), act.AsSpan(i * ff, ff));
            }
        }
        else
        {
            b.Wi.Forward(x, n, act);
            Activations.Apply(Config.Activation, act.AsSpan(0, n * ff));
        }
        b.Wo.Forward(act, n, x);
        seq.Hooks?.MlpOutput(layer, x, n);
        AddInto(h, x);
    }

    // ---------------------------------------------------------------- the decoder as LanguageModel sees it

    protected override float[] Embed(Sequence seq)
    {
        var h = Scratch((long)seq.N * Config.Hidden);
        _embedding.Lookup(seq.Input.Ids, h);
        return h;
    }

    /// <summary>The decoder's self-attention sub-block of block <paramref name="layer"/>.</summary>
    protected override void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities) =>
        SelfAttention(_decoder[layer], layer, h, seq, RelativeBias(_decoderTable, seq.N, bidirectional: false), probabilities);

    /// <summary>The decoder's feed-forward sub-block of block <paramref name="layer"/>.</summary>
    protected override void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations) => FeedForward(_decoder[layer], layer, h, seq, activations);

    protected override void FinalNorm(Span<float> h, int rows) => Rms(h, rows, _decoderNorm, h);

    protected override void EmbeddingRow(int id, Span<float> row) => _embedding.Row(id, row);

    public override FinalNormSpec FinalNormParameters => new(false, _decoderNorm, null, Config.NormEps);

    protected override Linear? DirectOutputProjection(int layer) => _decoder[layer].O;

    protected override Linear? CrossOutputProjection(int layer) => _decoder[layer].CrossO;

    /// <summary>A row of lm_head, times d_model^−½ when tied: the head rescales the normed residual first.</summary>
    protected override void UnembeddingRow(int id, Span<float> row)
    {
        _embedding.HeadRow(id, row);
        TensorPrimitives.Multiply(row, _headScale, row);
    }

    protected override void Head(ReadOnlySpan<float> h, int rows, Span<float> logits)
    {
        if (_headScale == 1f) { _embedding.Head(h, rows, logits); return; }
        var scaled = Scratch(h.Length);
        TensorPrimitives.Multiply(h, _headScale, scaled);
        _embedding.Head(scaled, rows, logits);
    }

    // ---------------------------------------------------------------- passes

    /// <summary>What one stack keeps of a pass.</summary>
    sealed class Kept(bool hidden)
    {
        public List<Tensor>? Hidden = hidden ? [] : null;
        public readonly Dictionary<int, Tensor> Attentions = [], Cross = [], Mlp = [];
        public CaptureResult Result(int[] ids, Tensor? logits = null, CaptureResult? encoder = null) => new()
        {
            Ids = (int[])ids.Clone(), Logits = logits, HiddenStates = Hidden, Attentions = Attentions, MlpActivations = Mlp,
            Encoder = encoder, CrossAttentions = Cross,
        };
    }

    float[]? Probabilities(bool wanted, int queries, int keys) =>
        wanted ? GC.AllocateUninitializedArray<float>(checked(Config.Heads * queries * keys)) : null;

    /// <summary>Runs the encoder on <paramref name="input"/> (ids and mask); the memory the decoder reads, and what <paramref name="kept"/> asks for.</summary>
    Memory Encode(ForwardInput input, CaptureRequest request, Kept? kept, CancellationToken ct)
    {
        var seq = Begin(input with { DecoderIds = null }, causal: false);
        int n = seq.N, d = Config.Hidden;
        var bias = RelativeBias(_encoderTable, n, bidirectional: true);
        var h = Embed(seq);
        kept?.Hidden?.Add(new Tensor((float[])h.Clone(), n, d));
        for (int l = 0; l < _encoder.Length; l++)
        {
            ct.ThrowIfCancellationRequested();
            var probs = Probabilities(kept is not null && request.WantsEncoderAttention(l), n, n);
            var act = kept is not null && request.MlpActivations ? new float[(long)n * Config.Intermediate] : null;
            SelfAttention(_encoder[l], l, h, seq, bias, probs);
            FeedForward(_encoder[l], l, h, seq, act);
            if (l == _encoder.Length - 1) Rms(h, n, _encoderNorm, h);
            kept?.Hidden?.Add(new Tensor((float[])h.Clone(), n, d));
            if (probs is not null) kept!.Attentions[l] = new Tensor(probs, Config.Heads, n, n);
            if (act is not null) kept!.Mlp[l] = new Tensor(act, n, Config.Intermediate);
        }
        // Every decoder block projects the same encoder output to its keys and values: once per pass, not once per step.
        var keysValues = _decoder.Select(b => b.CrossKv!.Forward(h, n)).ToArray();
        return new Memory(n, seq.Mask.KeyMask, keysValues);
    }

    /// <summary>Decoder block <paramref name="layer"/>: self-attention, cross-attention, feed-forward.</summary>
    void DecoderBlock(int layer, float[] h, Sequence seq, float[] bias, Memory memory, float[]? self, float[]? cross, float[]? act)
    {
        var b = _decoder[layer];
        SelfAttention(b, layer, h, seq, bias, self);
        CrossAttention(b, layer, h, seq, memory, cross);
        FeedForward(b, layer, h, seq, act);
    }

    /// <summary>
    /// Runs the encoder on <c>input.Ids</c> (and mask), then the decoder on <c>input.DecoderIds</c>. The result is the
    /// decoder's (with logits) and holds the encoder's in <see cref="CaptureResult.Encoder"/>; <paramref name="onLayer"/>
    /// hears of the decoder's blocks, and so do <paramref name="hooks"/>: the decoder's residual stream, its self-attention
    /// z (<see cref="ForwardHooks.HeadOutputs"/>), cross-attention z (<see cref="ForwardHooks.CrossHeadOutputs"/>) and
    /// feed-forward output (the encoder runs unhooked).
    /// </summary>
    public override CaptureResult Forward(ForwardInput input, CaptureRequest request, CancellationToken ct = default, Action<LayerCapture>? onLayer = null,
        ForwardHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var decoderIds = DecoderIdsOf(input);
        var encoder = new Kept(request.HiddenStates);
        var memory = Encode(input, request, encoder, ct);

        var seq = Begin(new ForwardInput(decoderIds), hooks: hooks);
        int n = seq.N, d = Config.Hidden, L = Config.Layers;
        var bias = RelativeBias(_decoderTable, n, bidirectional: false);
        var decoder = new Kept(request.HiddenStates);
        var h = Embed(seq);
        hooks?.Residual(0, h, n);
        decoder.Hidden?.Add(new Tensor((float[])h.Clone(), n, d));
        for (int l = 0; l < L; l++)
        {
            ct.ThrowIfCancellationRequested();
            var self = Probabilities(request.WantsAttention(l), n, n);
            var cross = Probabilities(request.WantsAttention(l), n, memory.N);
            var act = request.MlpActivations ? new float[(long)n * Config.Intermediate] : null;
            DecoderBlock(l, h, seq, bias, memory, self, cross, act);
            hooks?.Residual(l + 1, h, n);
            if (l == L - 1) FinalNorm(h, n);

            Tensor? hs = decoder.Hidden is null ? null : new Tensor((float[])h.Clone(), n, d);
            Tensor? at = self is null ? null : new Tensor(self, Config.Heads, n, n);
            Tensor? mt = act is null ? null : new Tensor(act, n, Config.Intermediate);
            if (hs is not null) decoder.Hidden!.Add(hs);
            if (at is not null) decoder.Attentions[l] = at;
            if (cross is not null) decoder.Cross[l] = new Tensor(cross, Config.Heads, n, memory.N);
            if (mt is not null) decoder.Mlp[l] = mt;
            onLayer?.Invoke(new LayerCapture(l, n, hs, at, mt));
        }

        Tensor? logits = null;
        if (request.Logits)
        {
            var data = GC.AllocateUninitializedArray<float>(checked(n * Config.Vocab));
            Head(h, n, data);
            logits = new Tensor(data, n, Config.Vocab);
        }
        return decoder.Result(decoderIds, logits, encoder.Result(input.Ids));
    }

    /// <summary>Decoder block <paramref name="layer"/>'s self-attention [heads, n, n] from its input (decoder_hidden_states.{layer}); n = the decoder ids.</summary>
    public override float[] AttentionOfLayer(int layer, ReadOnlySpan<float> layerInput, ForwardInput input) =>
        base.AttentionOfLayer(layer, layerInput, new ForwardInput(DecoderIdsOf(input)));

    /// <summary>
    /// Greedy decoding of the encoder input <paramref name="prompt"/>: the decoder starts from decoder_start_token_id and
    /// appends the argmax of its last position, re-running the decoder over its ids each step (the encoder runs once).
    /// Returns the decoder's new ids, without the start id.
    /// </summary>
    public override int[] Generate(int[] prompt, int maxNew, CancellationToken ct = default, Action<int>? onToken = null, bool stopAtEos = true)
    {
        var memory = Encode(new ForwardInput(prompt), CaptureRequest.LogitsOnly, null, ct);
        var ids = new List<int> { Config.DecoderStartTokenId };
        var generated = new List<int>();
        for (int step = 0; step < maxNew; step++)
        {
            var seq = Begin(new ForwardInput(ids.ToArray()));
            int n = seq.N;
            var bias = RelativeBias(_decoderTable, n, bidirectional: false);
            var h = Embed(seq);
            for (int l = 0; l < Config.Layers; l++)
            {
                ct.ThrowIfCancellationRequested();
                DecoderBlock(l, h, seq, bias, memory, null, null, null);
            }
            int next = GreedyNext(h, n);
            ids.Add(next);
            generated.Add(next);
            onToken?.Invoke(next);
            if (stopAtEos && Config.EosTokenIds.Contains(next)) break;
        }
        return generated.ToArray();
    }

    int[] DecoderIdsOf(ForwardInput input)
    {
        if (input.DecoderIds is not { Length: > 0 } ids)
            throw new ModelException($"{Config.ModelType} is an encoder-decoder: give the decoder's input ids too (starting with decoder_start_token_id {Config.DecoderStartTokenId}), or generate them from the input");
        CheckIds(ids, "decoder token id");
        return ids;
    }
}
