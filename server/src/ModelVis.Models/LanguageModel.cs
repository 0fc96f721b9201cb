using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// A transformer language model loaded into memory, weights packed for the matmul kernels. A forward pass is
/// embedding → layers (each an attention sub-block then an MLP sub-block, updating the residual stream h in
/// place) → final norm → output head; each family fills in those pieces in its own file.
/// Thread-safe for concurrent forward passes (weights are read-only).
/// </summary>
public abstract class LanguageModel : IDisposable
{
    public ModelConfig Config { get; }
    /// <summary>The folder the model was loaded from.</summary>
    public string Folder { get; }
    /// <summary>Where its products and attention run (its weight matrices were placed there when it loaded).</summary>
    public ComputeDevice Device { get; internal set; } = ComputeDevice.Cpu;

    protected LanguageModel(ModelConfig config, string folder)
    {
        Config = config;
        Folder = folder;
    }

    /// <summary>Per-pass facts every sub-block may need: length, mask, positions, rotary tables.</summary>
    protected sealed class Sequence
    {
        public required ForwardInput Input { get; init; }
        public int N => Input.Ids.Length;
        public required AttentionMask Mask { get; init; }
        /// <summary>The pass's hooks, or null; families call <see cref="ForwardHooks.HeadOutputs"/> and <see cref="ForwardHooks.MlpOutput"/> through it.</summary>
        public ForwardHooks? Hooks { get; init; }

        readonly Dictionary<int, float[]> _work = new();
        readonly Dictionary<Rotary, (float[] Cos, float[] Sin)> _rotaryTables = new();

        /// <summary>cos and sin of <paramref name="rotary"/> for positions 0..n−1, made once per pass (a family may have several, e.g. Gemma 3's local and global).</summary>
        public (float[] Cos, float[] Sin) RotaryTables(Rotary rotary)
        {
            if (!_rotaryTables.TryGetValue(rotary, out var tables)) _rotaryTables[rotary] = tables = rotary.Tables(N);
            return tables;
        }

        /// <summary>
        /// Work buffer number <paramref name="slot"/> of <paramref name="count"/> floats, shared by every layer of this pass,
        /// so a pass allocates its temporaries once instead of once per layer. Contents are left from the last use.
        /// </summary>
        public float[] Work(int slot, long count)
        {
            if (!_work.TryGetValue(slot, out var buffer) || buffer.Length != count)
                _work[slot] = buffer = GC.AllocateUninitializedArray<float>(checked((int)count));
            return buffer;
        }
    }

    // ---------------------------------------------------------------- what each family provides

    /// <summary>hidden_states.0: the embedding output [n, d].</summary>
    protected abstract float[] Embed(Sequence seq);

    /// <summary>h ← h after layer <paramref name="layer"/>'s attention sub-block; writes its probabilities when asked.</summary>
    protected abstract void AttentionBlock(int layer, float[] h, Sequence seq, float[]? probabilities);

    /// <summary>h ← h after layer <paramref name="layer"/>'s MLP sub-block; writes its activation [n, intermediate] when asked.</summary>
    protected abstract void MlpBlock(int layer, float[] h, Sequence seq, float[]? activations);

    /// <summary>The final norm, in place (GPT-2 ln_f, Llama model.norm; BERT has none).</summary>
    protected virtual void FinalNorm(Span<float> h, int rows) { }

    /// <summary>logits [rows, vocab] from final hidden rows [rows, d].</summary>
    protected abstract void Head(ReadOnlySpan<float> h, int rows, Span<float> logits);

    /// <summary>Family-specific preparation (rotary tables, position limits).</summary>
    protected virtual void Prepare(Sequence seq) { }

    /// <summary>
    /// Layer <paramref name="layer"/>'s attention output projection W_O (each head's write is z_h · W_O^h, the bias added
    /// once); null where the heads' outputs are not split that way (BERT's post-norm wraps the residual itself).
    /// </summary>
    protected virtual Linear? DirectOutputProjection(int layer) => null;

    /// <summary>
    /// The RMSNorm gain that layer <paramref name="layer"/>'s attention output passes through before it joins the residual
    /// stream (Gemma's and OLMo 2's post_attention_layernorm), or null where it is added as it is.
    /// </summary>
    protected virtual float[]? AttentionPostNormGain(int layer) => null;

    /// <summary>Decoder block <paramref name="layer"/>'s cross-attention output projection (encoder-decoders), or null.</summary>
    protected virtual Linear? CrossOutputProjection(int layer) => null;

    /// <summary>The final norm's parameters (null: no final norm, or not one of LayerNorm / RMSNorm).</summary>
    public virtual FinalNormSpec? FinalNormParameters => null;

    /// <summary>Row <paramref name="id"/> of the unembedding W_U (the output head's weights for that token), [d].</summary>
    protected virtual void UnembeddingRow(int id, Span<float> row) =>
        throw new ModelException($"{Config.ModelType}: this model's output head is not a plain unembedding matrix");

    /// <summary>Row <paramref name="id"/> of the token embedding table as stored (before a family's scaling or added positions), [d].</summary>
    protected abstract void EmbeddingRow(int id, Span<float> row);

    // ---------------------------------------------------------------- the public API

    /// <summary>
    /// Runs the model on one sequence, keeping what <paramref name="request"/> asks for. <paramref name="onLayer"/>
    /// receives each layer's capture as soon as that layer is done.
    /// </summary>
    /// <param name="hooks">Reads and interventions at each layer's residual, head outputs and MLP output (see <see cref="ForwardHooks"/>);
    /// the captures see the residual stream as the hooks left it. A family that overrides the pass (T5) may refuse them.</param>
    public virtual CaptureResult Forward(ForwardInput input, CaptureRequest request, CancellationToken ct = default, Action<LayerCapture>? onLayer = null,
        ForwardHooks? hooks = null)
    {
        var seq = Begin(input, hooks: hooks);
        MemoryBudget.Check(Config, seq.N, request);
        int n = seq.N, d = Config.Hidden, L = Config.Layers;
        var hidden = request.HiddenStates ? new List<Tensor>(L + 1) : null;
        var attentions = new Dictionary<int, Tensor>();
        var mlps = new Dictionary<int, Tensor>();

        var h = Embed(seq);
        hooks?.Residual(0, h, n);
        hidden?.Add(new Tensor((float[])h.Clone(), n, d));
        for (int l = 0; l < L; l++)
        {
            ct.ThrowIfCancellationRequested();
            // Every entry is written by the attention kernel (masked ones as exact zeros), so no need to clear.
            var probs = request.WantsAttention(l) ? GC.AllocateUninitializedArray<float>(checked(Config.Heads * n * n)) : null;
            var act = request.MlpActivations ? new float[(long)n * Config.Intermediate] : null;
            AttentionBlock(l, h, seq, probs);
            ct.ThrowIfCancellationRequested();
            MlpBlock(l, h, seq, act);
            hooks?.Residual(l + 1, h, n);
            if (l == L - 1) FinalNorm(h, n);

            Tensor? hs = hidden is null ? null : new Tensor((float[])h.Clone(), n, d);
            Tensor? at = probs is null ? null : new Tensor(probs, Config.Heads, n, n);
            Tensor? mt = act is null ? null : new Tensor(act, n, Config.Intermediate);
            if (hs is not null) hidden!.Add(hs);
            if (at is not null) attentions[l] = at;
            if (mt is not null) mlps[l] = mt;
            onLayer?.Invoke(new LayerCapture(l, n, hs, at, mt));
        }

        Tensor? logits = null;
        if (request.Logits && Config.HasLmHead)
        {
            ct.ThrowIfCancellationRequested();
            var data = GC.AllocateUninitializedArray<float>(checked(n * Config.Vocab));
            Head(h, n, data);
            logits = new Tensor(data, n, Config.Vocab);
        }
        return new CaptureResult { Ids = (int[])input.Ids.Clone(), Logits = logits, HiddenStates = hidden, Attentions = attentions, MlpActivations = mlps };
    }

    /// <summary>What <see cref="ForwardFrom"/> keeps: nothing but its working buffers (the residual is the caller's).</summary>
    static readonly CaptureRequest ResumeRequest = new(Logits: false);

    /// <summary>
    /// Runs layers <paramref name="fromLayer"/>..L−1 on <paramref name="residual"/> [n, d], the residual stream entering
    /// <paramref name="fromLayer"/> (a cached pre-norm residual; it is updated in place), and returns it as the final
    /// residual before the final norm. Activation patching starts here so the layers below a patch are not recomputed;
    /// <paramref name="hooks"/> see layers from <paramref name="fromLayer"/> on (its Residual hook first). Refused, like a
    /// full pass, when its working buffers would not fit in free memory (<see cref="MemoryBudget"/>), and for an encoder-decoder.
    /// </summary>
    public float[] ForwardFrom(int fromLayer, float[] residual, ForwardInput input, ForwardHooks? hooks = null, CancellationToken ct = default)
    {
        if (Config.IsEncoderDecoder)
            throw new ModelException($"{Config.ModelType} is an encoder-decoder: resuming a pass at a layer needs the encoder's output, which circuits analysis does not keep");
        if (fromLayer < 0 || fromLayer > Config.Layers) throw new ModelException($"layer {fromLayer} does not exist; the model has layers 0..{Config.Layers - 1}");
        var seq = Begin(input, hooks: hooks);
        int n = seq.N;
        if (residual.Length != n * Config.Hidden)
            throw new ModelException($"residual has {residual.Length} values; {n} tokens × {Config.Hidden} = {n * Config.Hidden} expected");
        MemoryBudget.Check(Config, n, ResumeRequest);
        hooks?.Residual(fromLayer, residual, n);
        for (int l = fromLayer; l < Config.Layers; l++)
        {
            ct.ThrowIfCancellationRequested();
            AttentionBlock(l, residual, seq, null);
            MlpBlock(l, residual, seq, null);
            hooks?.Residual(l + 1, residual, n);
        }
        return residual;
    }

    /// <summary>
    /// What each head of layer <paramref name="layer"/> writes into the residual stream at one position, from the position's
    /// z row <paramref name="zRow"/> [heads·head_dim]: z_h · W_O^h, and the output bias apart. Where a post-norm follows
    /// the projection (Gemma, OLMo 2) its scale s = √(mean(o²) + eps) of the whole output o = Σ_h z_h·W_O^h + b is frozen
    /// at this pass's value, so each head's write becomes (z_h·W_O^h) ⊙ g / s and the writes still add up to what the
    /// sub-block added (<see cref="AttentionWrites.PostNormScale"/> says it was frozen).
    /// </summary>
    public AttentionWrites HeadWrites(int layer, ReadOnlySpan<float> zRow) =>
        Writes(DirectOutputProjection(layer)
            ?? throw new ModelException($"{Config.ModelType}: the attention output is not a sum of per-head writes (a norm wraps the residual itself)"),
            AttentionPostNormGain(layer), zRow);

    /// <summary>As <see cref="HeadWrites"/>, for decoder block <paramref name="layer"/>'s cross-attention heads (T5).</summary>
    public AttentionWrites CrossHeadWrites(int layer, ReadOnlySpan<float> zRow) =>
        Writes(CrossOutputProjection(layer) ?? throw new ModelException($"{Config.ModelType} has no cross-attention"), null, zRow);

    AttentionWrites Writes(Linear o, float[]? postNormGain, ReadOnlySpan<float> zRow)
    {
        int H = Config.Heads, hd = Config.HeadDim, d = Config.Hidden;
        if (zRow.Length != H * hd) throw new ModelException($"z row has {zRow.Length} values; {H} heads × {hd} = {H * hd} expected");
        var blocks = new float[H * H * hd];                                   // row h: z with every head but h zeroed
        for (int h = 0; h < H; h++) zRow.Slice(h * hd, hd).CopyTo(blocks.AsSpan(h * H * hd + h * hd, hd));
        var heads = new float[H * d];
        MatMul.Multiply(blocks, H, o.Weight, heads);
        var bias = new float[d];
        o.PaddedBias?.AsSpan(0, d).CopyTo(bias);
        if (postNormGain is null) return new AttentionWrites(heads, bias, null);

        double sq = 0;
        for (int i = 0; i < d; i++)
        {
            double sum = bias[i];
            for (int h = 0; h < H; h++) sum += heads[h * d + i];
            sq += sum * sum;
        }
        double s = Math.Sqrt(sq / d + Config.NormEps);
        for (int i = 0; i < d; i++)
        {
            float factor = (float)(postNormGain[i] / s);
            bias[i] *= factor;
            for (int h = 0; h < H; h++) heads[h * d + i] *= factor;
        }
        return new AttentionWrites(heads, bias, s);
    }

    /// <summary>
    /// W_U[<paramref name="id"/>] [d]: the direction in the final normed residual that the logit of <paramref name="id"/> reads
    /// (any fixed rescale before the head folded in, as T5's d^−½). With final_logit_softcapping (Gemma 2) this is the
    /// logit before the cap: the capped one is cap·tanh(logit/cap), not linear in the residual stream.
    /// </summary>
    public float[] Unembedding(int id)
    {
        if (!Config.HasLmHead) throw new ModelException($"{Folder}: this checkpoint has no output head, so it has no unembedding");
        if ((uint)id >= (uint)Config.Vocab) throw new ModelException($"token id {id} is outside the vocabulary (0..{Config.Vocab - 1})");
        var row = new float[Config.Hidden];
        UnembeddingRow(id, row);
        return row;
    }

    /// <summary>
    /// Row <paramref name="id"/> of a token matrix [d], widened from its stored precision one row at a time: the input
    /// embedding, or the unembedding (the output head's row; the embedding again when the head is tied).
    /// </summary>
    public void TokenRow(TokenMatrix matrix, int id, Span<float> row)
    {
        if ((uint)id >= (uint)Config.Vocab) throw new ModelException($"token id {id} is outside the vocabulary (0..{Config.Vocab - 1})");
        if (row.Length != Config.Hidden) throw new ModelException($"a token row has {Config.Hidden} values, not {row.Length}");
        if (matrix == TokenMatrix.Embedding) EmbeddingRow(id, row);
        else if (!Config.HasLmHead) throw new ModelException($"{Folder}: this checkpoint has no output head, so it has no unembedding");
        else UnembeddingRow(id, row);
    }

    /// <summary>
    /// Recomputes layer <paramref name="layer"/>'s attention probabilities [heads, n, n] from its input hidden
    /// state [n, d] (hidden_states.{layer} of an earlier capture), so callers need not keep every layer's attention.
    /// </summary>
    public virtual float[] AttentionOfLayer(int layer, ReadOnlySpan<float> layerInput, ForwardInput input)
    {
        if ((uint)layer >= (uint)Config.Layers) throw new ModelException($"layer {layer} does not exist; the model has layers 0..{Config.Layers - 1}");
        var seq = Begin(input);
        int n = seq.N;
        if (layerInput.Length != n * Config.Hidden)
            throw new ModelException($"layer input has {layerInput.Length} values; {n} tokens × {Config.Hidden} = {n * Config.Hidden} expected");
        var h = layerInput.ToArray();
        var probs = new float[(long)Config.Heads * n * n];
        AttentionBlock(layer, h, seq, probs);
        return probs;
    }

    /// <summary>
    /// The logit lens: hidden rows [rows, d] → logits [rows, vocab] through the output head, after the final norm
    /// when <paramref name="applyFinalNorm"/> (and the family has one; BERT's MLM head has its own transform).
    /// </summary>
    public float[] Unembed(ReadOnlySpan<float> hidden, int rows, bool applyFinalNorm)
    {
        if (!Config.HasLmHead) throw new ModelException($"{Folder}: this checkpoint has no output head, so it cannot give logits");
        if (rows < 0 || hidden.Length != rows * Config.Hidden)
            throw new ModelException($"hidden has {hidden.Length} values; {rows} rows × {Config.Hidden} = {rows * Config.Hidden} expected");
        var h = hidden.ToArray();
        if (applyFinalNorm) FinalNorm(h, rows);
        var logits = new float[(long)rows * Config.Vocab];
        Head(h, rows, logits);
        return logits;
    }

    /// <summary>The greedy choice after a pass: the argmax of the logits of the last of the <paramref name="n"/> rows of <paramref name="h"/>.</summary>
    protected int GreedyNext(float[] h, int n)
    {
        var last = h.AsSpan((n - 1) * Config.Hidden, Config.Hidden).ToArray();
        FinalNorm(last, 1);
        var logits = new float[Config.Vocab];
        Head(last, 1, logits);
        return TensorPrimitives.IndexOfMax(logits);
    }

    /// <summary>
    /// Greedy decoding: appends the argmax of the last position's logits, <paramref name="maxNew"/> times (or until
    /// an end-of-sequence id), re-running the whole sequence each step. Returns only the new ids.
    /// </summary>
    public virtual int[] Generate(int[] prompt, int maxNew, CancellationToken ct = default, Action<int>? onToken = null, bool stopAtEos = true)
    {
        if (!Config.IsCausal) throw new ModelException($"{Config.ModelType} is an encoder (bidirectional) model; generation needs a causal language model");
        if (!Config.HasLmHead) throw new ModelException($"{Folder}: this checkpoint has no output head, so it cannot generate");
        var ids = new List<int>(prompt);
        var generated = new List<int>();
        for (int step = 0; step < maxNew; step++)
        {
            ct.ThrowIfCancellationRequested();
            var seq = Begin(new ForwardInput(ids.ToArray()));
            int n = seq.N;
            var h = Embed(seq);
            for (int l = 0; l < Config.Layers; l++)
            {
                ct.ThrowIfCancellationRequested();
                AttentionBlock(l, h, seq, null);
                MlpBlock(l, h, seq, null);
            }
            int next = GreedyNext(h, n);
            ids.Add(next);
            generated.Add(next);
            onToken?.Invoke(next);
            if (stopAtEos && Config.EosTokenIds.Contains(next)) break;
        }
        return generated.ToArray();
    }

    /// <summary>
    /// Checks <paramref name="input"/> against the config and makes the pass's <see cref="Sequence"/>: causal as the
    /// config says unless <paramref name="causal"/> says otherwise (an encoder-decoder's encoder is bidirectional);
    /// <paramref name="hooks"/> are the pass's hooks (null: none).
    /// </summary>
    private protected Sequence Begin(ForwardInput input, bool? causal = null, ForwardHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ids = input.Ids ?? throw new ModelException("no token ids");
        int n = ids.Length;
        if (n == 0) throw new ModelException("the input has no tokens");
        CheckIds(ids, "token id");
        if (input.DecoderIds is not null && !Config.IsEncoderDecoder)
            throw new ModelException($"{Config.ModelType} is not an encoder-decoder model, so it takes no decoder input ids");
        if (input.AttentionMask is { } mask)
        {
            if (mask.Length != n) throw new ModelException($"attention mask has {mask.Length} entries for {n} tokens");
            if (mask.Any(m => m is not (0 or 1))) throw new ModelException("attention mask entries must be 0 or 1");
        }
        if (input.TokenTypeIds is { } types && types.Length != n)
            throw new ModelException($"token type ids have {types.Length} entries for {n} tokens");
        var seq = new Sequence
        {
            Input = input,
            Mask = new AttentionMask(causal ?? Config.IsCausal, input.AttentionMask is { } m2 && m2.Contains(0) ? m2 : null, Config.SlidingWindow),
            Hooks = hooks,
        };
        Prepare(seq);
        return seq;
    }

    /// <summary>Throws when an id is outside the vocabulary (<paramref name="what"/> names them in the message).</summary>
    private protected void CheckIds(int[] ids, string what)
    {
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)Config.Vocab)
                throw new ModelException($"{what} {ids[i]} at position {i} is outside the vocabulary (0..{Config.Vocab - 1})");
    }

    // ---------------------------------------------------------------- helpers the families share

    /// <summary>
    /// The mask of layer <paramref name="layer"/>: the pass's mask, without the sliding window on the layers the
    /// config keeps global (Gemma's alternating layers, Qwen's max_window_layers).
    /// </summary>
    protected AttentionMask MaskOf(Sequence seq, int layer) =>
        Config.SlidingLayers is { } sliding && !sliding[layer] ? seq.Mask with { SlidingWindow = 0 } : seq.Mask;

    /// <summary>
    /// The two-matrix MLP (GPT-2, GPT-NeoX): <paramref name="output"/> [n, d] = down(act(up(ln(h)))), the normed input
    /// and the output sharing work buffer 0; act(up(·)) [n, intermediate] goes to <paramref name="activations"/> when asked for.
    /// </summary>
    private protected float[] DenseMlp(int layer, LayerNormWeights norm, Linear up, Linear down, float[] h, Sequence seq, float[]? activations)
    {
        int n = seq.N;
        var x = seq.Work(0, (long)n * Config.Hidden);
        norm.Apply(h, n, x);
        var u = activations ?? seq.Work(3, (long)n * Config.Intermediate);
        up.Forward(x, n, u);
        seq.Hooks?.MlpPreActivation(layer, u, n, Config.Intermediate, Config.Intermediate);
        Activations.Apply(Config.Activation, u);
        down.Forward(u, n, x);
        return x;
    }

    /// <summary>A[rows, d] += B (the residual connection: h = h + sublayer(h)).</summary>
    protected static void AddInto(Span<float> h, ReadOnlySpan<float> sublayerOutput) => TensorPrimitives.Add(sublayerOutput, h, h);

    protected static float[] Scratch(long count) => GC.AllocateUninitializedArray<float>(checked((int)count));

    readonly List<IDisposable> _owned = [];

    /// <summary>Something the weights read from while the model lives (the open checkpoint); closed with the model.</summary>
    internal void Own(IDisposable resource) => _owned.Add(resource);

    public virtual void Dispose()
    {
        foreach (var r in _owned) r.Dispose();
        _owned.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The two matrices with one row per token: the input embedding and the output head's unembedding.</summary>
public enum TokenMatrix { Embedding, Unembedding }
