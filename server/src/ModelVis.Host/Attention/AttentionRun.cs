using System.Collections.Concurrent;
using ModelVis.Models;
using ModelVis.Tensors;

namespace ModelVis.Host.Attention;

public sealed record RunToken(int Id, string Text, string Display, int? Start, int? End, bool Special);

/// <summary>
/// One forward pass over one text, kept so a panel can ask for any layer and head without re-running the model.
/// An encoder-decoder's run (T5) keeps the three kinds of attention of one pass: the encoder's self-attention over the
/// text, the decoder's over <see cref="TargetTokens"/>, and the decoder's cross-attention from the target to the text.
/// The pass runs in the background layer by layer; layer l's attention is available once its input hidden
/// state is (<see cref="LayerAsync"/> waits for it). Only hidden states are kept for every layer; attention
/// [heads, n, n] is recomputed from them on demand and cached within a byte budget.
/// </summary>
public sealed class AttentionRun : IDisposable
{
    readonly LoadedModel _loaded;
    readonly Tensor?[] _hidden;                 // hidden_states.0..L
    readonly TaskCompletionSource[] _layerReady; // [l]: layer l can be drawn (its attention captured, or its input known)
    readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource _cts = new();
    readonly AttentionCache _cache;
    float[]? _layer0Attention;
    CaptureResult? _encoderDecoder;             // the whole pass of an encoder-decoder run

    public string Id { get; }
    public ForwardInput Input { get; }
    public RunToken[] Tokens { get; }
    /// <summary>An encoder-decoder's decoder tokens (decoder_input_ids: the start token, then the target's), or null.</summary>
    public RunToken[]? TargetTokens { get; }
    public int N => Input.Ids.Length;
    public bool IsEncoderDecoder => Config.IsEncoderDecoder;
    public ModelConfig Config => _loaded.Model.Config;
    public LoadedModel Loaded => _loaded;
    public Task Completion => _done.Task;

    public AttentionRun(string id, LoadedModel loaded, ForwardInput input, RunToken[] tokens, long cacheBytes, RunToken[]? targetTokens = null)
    {
        Id = id; _loaded = loaded; Input = input; Tokens = tokens; TargetTokens = targetTokens;
        if (loaded.Model.Config.IsEncoderDecoder != (input.DecoderIds is not null) || (targetTokens?.Length ?? 0) != (input.DecoderIds?.Length ?? 0))
            throw new ArgumentException("an encoder-decoder run needs the decoder ids and their tokens, and only it does");
        int L = loaded.Model.Config.Layers;
        _hidden = new Tensor?[L + 1];
        _layerReady = Enumerable.Range(0, L).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        _cache = new AttentionCache(cacheBytes);
    }

    /// <summary>Starts the forward pass on the thread pool. <paramref name="onLayer"/> is told as each layer finishes.</summary>
    public void Start(Action<int>? onLayer)
    {
        var ct = _cts.Token;
        if (IsEncoderDecoder)
        {
            StartEncoderDecoder(onLayer, ct);
            return;
        }
        Task.Run(() =>
        {
            try
            {
                // Layer 0's attention is kept from the pass itself (the first picture needs no recompute);
                // every other layer's is recomputed from its input hidden state when asked for.
                var request = new CaptureRequest(new HashSet<int> { 0 }, HiddenStates: true, Logits: false);
                var result = _loaded.Model.Forward(Input, request, ct, layer =>
                {
                    if (layer.Layer == 0) _layer0Attention = layer.Attention!.Data;
                    _hidden[layer.Layer + 1] = layer.HiddenState;
                    if (layer.Layer == 0) _layerReady[0].TrySetResult();
                    if (layer.Layer + 1 < _layerReady.Length) _layerReady[layer.Layer + 1].TrySetResult();
                    onLayer?.Invoke(layer.Layer);
                });
                _hidden[0] = result.HiddenStates![0];
                _done.TrySetResult();
            }
            catch (Exception e)
            {
                foreach (var t in _layerReady) t.TrySetException(e);
                _done.TrySetException(e);
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// An encoder-decoder: one pass keeping every layer's attention of the three kinds (a selection and its target are
    /// short, and the cross-attention cannot be recomputed from the decoder's hidden states alone); layers open together.
    /// </summary>
    void StartEncoderDecoder(Action<int>? onLayer, CancellationToken ct)
    {
        var config = Config;
        Task.Run(() =>
        {
            try
            {
                var request = new CaptureRequest(Enumerable.Range(0, config.Layers).ToHashSet(), HiddenStates: false, Logits: false,
                    EncoderAttentionLayers: Enumerable.Range(0, config.EncoderLayers).ToHashSet());
                _encoderDecoder = _loaded.Model.Forward(Input, request, ct, layer => onLayer?.Invoke(layer.Layer));
                foreach (var t in _layerReady) t.TrySetResult();
                _done.TrySetResult();
            }
            catch (Exception e)
            {
                foreach (var t in _layerReady) t.TrySetException(e);
                _done.TrySetException(e);
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// The kinds of attention a run has: "self" for a decoder-only or encoder-only model; "encoder" (over the text),
    /// "decoder" (over the target) and "cross" (target queries, text keys) for an encoder-decoder, "decoder" by default.
    /// </summary>
    public string KindOf(string? kind)
    {
        if (!IsEncoderDecoder)
            return kind is null or "self" ? "self" : throw new ModelException($"{Config.ModelType} has only self-attention; \"{kind}\" attention is for encoder-decoder models");
        return kind switch
        {
            null or "decoder" => "decoder",
            "encoder" or "cross" => kind,
            _ => throw new ModelException($"attention kind must be encoder, decoder or cross; got \"{kind}\""),
        };
    }

    /// <summary>Query rows and key columns of one head's matrix of this kind.</summary>
    public (int Rows, int Cols) Shape(string? kind) => KindOf(kind) switch
    {
        "decoder" => (TargetTokens!.Length, TargetTokens.Length),
        "cross" => (TargetTokens!.Length, N),
        _ => (N, N),
    };

    /// <summary>How many layers have attention of this kind (the encoder's depth for "encoder").</summary>
    public int LayersOf(string? kind) => KindOf(kind) == "encoder" ? Config.EncoderLayers : Config.Layers;

    /// <summary>Waits until layer <paramref name="layer"/> can be drawn.</summary>
    public Task WaitForLayerAsync(int layer, CancellationToken ct)
    {
        CheckLayer(layer);
        return _layerReady[layer].Task.WaitAsync(ct);
    }

    /// <summary>Layer <paramref name="layer"/>'s attention probabilities [heads, rows, cols] of the kind (masked entries exactly 0).</summary>
    public async Task<float[]> LayerAsync(int layer, CancellationToken ct, string? kind = null)
    {
        kind = KindOf(kind);
        if (IsEncoderDecoder)
        {
            int layers = LayersOf(kind);
            if ((uint)layer >= (uint)layers) throw new ModelException($"layer {layer} does not exist; the {kind} attention has layers 0..{layers - 1}");
            await _done.Task.WaitAsync(ct);
            var r = _encoderDecoder!;
            return (kind == "encoder" ? r.Encoder!.Attentions : kind == "cross" ? r.CrossAttentions : r.Attentions)[layer].Data;
        }
        await WaitForLayerAsync(layer, ct);
        if (layer == 0) return _layer0Attention!;
        return _cache.GetOrAdd(layer, () => _loaded.Model.AttentionOfLayer(layer, _hidden[layer]!.Data, Input));
    }

    /// <summary>One head ([rows, cols]; [n, n] for self-attention), or the mean or max over heads.</summary>
    public async Task<float[]> HeadAsync(int layer, HeadSelector head, CancellationToken ct, string? kind = null)
    {
        var all = await LayerAsync(layer, ct, kind);
        var (rows, cols) = Shape(kind);
        int nn = rows * cols, heads = Config.Heads;
        if (head.Index is int h)
        {
            if ((uint)h >= (uint)heads) throw new ModelException($"head {h} does not exist; layer {layer} has heads 0..{heads - 1}");
            return all.AsSpan(h * nn, nn).ToArray();
        }
        var result = all.AsSpan(0, nn).ToArray();
        for (int k = 1; k < heads; k++)
        {
            var src = all.AsSpan(k * nn, nn);
            if (head.Reduce == "max") System.Numerics.Tensors.TensorPrimitives.Max(result, src, result);
            else System.Numerics.Tensors.TensorPrimitives.Add(result, src, result);
        }
        if (head.Reduce == "mean") System.Numerics.Tensors.TensorPrimitives.Multiply(result, 1f / heads, result);
        return result;
    }

    /// <summary>hidden_states.k [n, d] once the pass has produced it (k = 0..L).</summary>
    public async Task<float[]> HiddenAsync(int k, CancellationToken ct)
    {
        CheckDecoderOnly();
        if ((uint)k > (uint)Config.Layers) throw new ModelException($"hidden state {k} does not exist; the model has hidden_states.0..{Config.Layers}");
        // hidden_states.0 (the embedding) arrives with the result; hidden_states.L after the last layer.
        if (k == 0 || k == Config.Layers) await _done.Task.WaitAsync(ct);
        else await _layerReady[k].Task.WaitAsync(ct);
        return _hidden[k]!.Data;
    }

    /// <summary>All hidden states, after the whole pass.</summary>
    public async Task<IReadOnlyList<float[]>> AllHiddenAsync(CancellationToken ct)
    {
        CheckDecoderOnly();
        await _done.Task.WaitAsync(ct);
        return _hidden.Select(t => t!.Data).ToArray();
    }

    Lazy<IReadOnlyDictionary<int, Tensor>>? _mlp;

    /// <summary>Layer <paramref name="layer"/>'s MLP activations [n, intermediate]: one extra pass the first time neurons are asked for.</summary>
    public float[] MlpActivations(int layer, CancellationToken ct)
    {
        CheckDecoderOnly();
        CheckLayer(layer);
        long bytes = (long)N * Config.Intermediate * Config.Layers * 4;
        if (bytes > 1L << 30)
            throw new ModelException($"neuron views keep every layer's MLP activations ({bytes >> 20:N0} MB for {N:N0} tokens); select fewer tokens");
        _mlp ??= new Lazy<IReadOnlyDictionary<int, Tensor>>(() =>
            _loaded.Model.Forward(Input, new CaptureRequest(null, HiddenStates: false, Logits: false, MlpActivations: true), _cts.Token).MlpActivations);
        return _mlp.Value[layer].Data;
    }

    /// <summary>The hidden-state and neuron views read one stack's states over the text; an encoder-decoder's run has two stacks.</summary>
    void CheckDecoderOnly()
    {
        if (IsEncoderDecoder)
            throw new ModelException($"{Config.ModelType} is an encoder-decoder: its run shows the encoder, decoder and cross-attention heatmaps; the hidden-state and neuron views read decoder-only and encoder-only models");
    }

    void CheckLayer(int layer)
    {
        if ((uint)layer >= (uint)Config.Layers) throw new ModelException($"layer {layer} does not exist; the model has layers 0..{Config.Layers - 1}");
    }

    public void Dispose()
    {
        _cts.Cancel();
        _cache.Clear();
    }

    /// <summary>Recomputed layers' attention, least recently used dropped first once over budget.</summary>
    sealed class AttentionCache(long budgetBytes)
    {
        readonly ConcurrentDictionary<int, Lazy<float[]>> _entries = new();
        readonly LinkedList<int> _order = new();
        readonly object _lock = new();

        public float[] GetOrAdd(int layer, Func<float[]> compute)
        {
            var lazy = _entries.GetOrAdd(layer, _ => new Lazy<float[]>(compute, LazyThreadSafetyMode.ExecutionAndPublication));
            var value = lazy.Value;
            lock (_lock)
            {
                _order.Remove(layer);
                _order.AddFirst(layer);
                long bytes = _entries.Values.Where(v => v.IsValueCreated).Sum(v => (long)v.Value.Length * 4);
                while (bytes > budgetBytes && _order.Count > 1)
                {
                    int victim = _order.Last!.Value;
                    _order.RemoveLast();
                    if (_entries.TryRemove(victim, out var gone) && gone.IsValueCreated) bytes -= (long)gone.Value.Length * 4;
                }
            }
            return value;
        }

        public void Clear() { lock (_lock) { _entries.Clear(); _order.Clear(); } }
    }
}

/// <summary>A head by index, or "mean"/"max" over heads.</summary>
public readonly record struct HeadSelector(int? Index, string? Reduce)
{
    public static HeadSelector Parse(System.Text.Json.JsonElement e) => e.ValueKind switch
    {
        System.Text.Json.JsonValueKind.Number => new HeadSelector(e.GetInt32(), null),
        System.Text.Json.JsonValueKind.String when e.GetString() is "mean" or "max" => new HeadSelector(null, e.GetString()),
        System.Text.Json.JsonValueKind.String when int.TryParse(e.GetString(), out var h) => new HeadSelector(h, null),
        _ => throw new ModelException($"head must be a head number, \"mean\" or \"max\"; got {e.GetRawText()}"),
    };

    public override string ToString() => Index?.ToString() ?? Reduce!;
}
