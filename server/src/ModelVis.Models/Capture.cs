using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// One sequence to run (batch size 1). <paramref name="AttentionMask"/>: Hugging Face's attention_mask,
/// 1 = real token, 0 = padding never attended to (null = all ones). <paramref name="TokenTypeIds"/>: BERT
/// segment ids (null = all zeros). <paramref name="DecoderIds"/>: an encoder-decoder's decoder_input_ids (starting
/// with decoder_start_token_id); <paramref name="Ids"/> and the mask are then the encoder's input.
/// </summary>
public sealed record ForwardInput(int[] Ids, int[]? AttentionMask = null, int[]? TokenTypeIds = null, int[]? DecoderIds = null)
{
    public int Length => Ids.Length;
}

/// <summary>
/// What a forward pass keeps. Anything not asked for is computed and dropped, so a 2,048-token run over a
/// large model does not hold every layer's [heads, n, n] attention.
/// </summary>
/// <param name="AttentionLayers">Layers whose attention probabilities to keep ([heads, n, n] each); null or empty = none.
/// For an encoder-decoder these are decoder layers, each keeping its self- and its cross-attention.</param>
/// <param name="HiddenStates">Keep hidden_states.0..L as HF output_hidden_states gives them ([n, d] each).</param>
/// <param name="Logits">Keep the output head's logits [n, vocab] (ignored when the checkpoint has no head).</param>
/// <param name="MlpActivations">Keep every layer's MLP activation [n, intermediate] (after the nonlinearity, before the down projection).</param>
/// <param name="EncoderAttentionLayers">An encoder-decoder's encoder layers whose self-attention to keep; hidden states and
/// MLP activations follow <paramref name="HiddenStates"/> and <paramref name="MlpActivations"/> for both stacks.</param>
public sealed record CaptureRequest(ISet<int>? AttentionLayers = null, bool HiddenStates = false, bool Logits = true, bool MlpActivations = false,
    ISet<int>? EncoderAttentionLayers = null)
{
    public bool WantsAttention(int layer) => AttentionLayers?.Contains(layer) == true;
    public bool WantsEncoderAttention(int layer) => EncoderAttentionLayers?.Contains(layer) == true;

    /// <summary>Everything: all layers' attention (the encoder's too when <paramref name="encoderLayers"/> &gt; 0), all hidden states, logits and MLP activations.</summary>
    public static CaptureRequest All(int layers, int encoderLayers = 0) =>
        new(Enumerable.Range(0, layers).ToHashSet(), true, true, true, Enumerable.Range(0, encoderLayers).ToHashSet());

    /// <summary>Everything <paramref name="config"/>'s model has (both stacks of an encoder-decoder).</summary>
    public static CaptureRequest All(ModelConfig config) => All(config.Layers, config.EncoderLayers);

    /// <summary>Logits only (what generation needs).</summary>
    public static CaptureRequest LogitsOnly { get; } = new();

    /// <summary>Parses a CLI-style list such as "attentions,hidden_states,logits,mlp_activations" ("attentions" covers an encoder's too).</summary>
    public static CaptureRequest Parse(string what, int layers, int encoderLayers = 0)
    {
        var parts = what.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = parts.Where(p => p is not ("attentions" or "hidden_states" or "logits" or "mlp_activations")).ToArray();
        if (unknown.Length > 0)
            throw new ModelException($"unknown capture item(s) {string.Join(", ", unknown.Select(u => $"\"{u}\""))}; choose from attentions, hidden_states, logits, mlp_activations");
        return new CaptureRequest(
            parts.Contains("attentions") ? Enumerable.Range(0, layers).ToHashSet() : null,
            parts.Contains("hidden_states"),
            parts.Contains("logits"),
            parts.Contains("mlp_activations"),
            parts.Contains("attentions") ? Enumerable.Range(0, encoderLayers).ToHashSet() : null);
    }
}

/// <summary>
/// One layer's results, delivered as soon as the layer is done (for panels that stream); for an encoder-decoder, the
/// decoder's layers (the encoder has run before the first).
/// <see cref="HiddenState"/> is hidden_states.{Layer+1}: the layer's output (for the last layer, with the final
/// norm applied, as HF gives it). Each is null unless it was asked for.
/// </summary>
public sealed record LayerCapture(int Layer, int Tokens, Tensor? HiddenState, Tensor? Attention, Tensor? MlpActivation);

/// <summary>
/// What a forward pass kept, under the names and meanings of the reference files. For an encoder-decoder these are the
/// decoder's (Ids = decoder_input_ids), the encoder's are in <see cref="Encoder"/> and the decoder's attention to the
/// encoder in <see cref="CrossAttentions"/>; the names then follow Hugging Face's (encoder_hidden_states.k,
/// decoder_attentions.l, cross_attentions.l, …).
/// </summary>
public sealed class CaptureResult
{
    public required int[] Ids { get; init; }
    /// <summary>An encoder-decoder's encoder pass (its Ids = input_ids, no logits), or null.</summary>
    public CaptureResult? Encoder { get; init; }
    /// <summary>Decoder layer → cross-attention probabilities [heads, n_decoder, n_encoder] (padded encoder keys exactly 0).</summary>
    public IReadOnlyDictionary<int, Tensor> CrossAttentions { get; init; } = new Dictionary<int, Tensor>();
    /// <summary>[n, vocab], or null when not asked for.</summary>
    public Tensor? Logits { get; init; }
    /// <summary>hidden_states.0..L, each [n, d] (0 = embedding output, L = final normed state), or null.</summary>
    public IReadOnlyList<Tensor>? HiddenStates { get; init; }
    /// <summary>Layer → attention probabilities [heads, n, n] (masked entries exactly 0).</summary>
    public IReadOnlyDictionary<int, Tensor> Attentions { get; init; } = new Dictionary<int, Tensor>();
    /// <summary>Layer → MLP activation [n, intermediate].</summary>
    public IReadOnlyDictionary<int, Tensor> MlpActivations { get; init; } = new Dictionary<int, Tensor>();

    /// <summary>
    /// Every kept float tensor by its reference name: logits, hidden_states.{k}, attentions.{l}, mlp_activations.{l};
    /// for an encoder-decoder logits, encoder_… and decoder_… of each, and cross_attentions.{l}.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Named()
    {
        if (Logits is not null) yield return new("logits", Logits);
        if (Encoder is not null)
            foreach (var (name, t) in Encoder.Stack("encoder_")) yield return new(name, t);
        foreach (var (name, t) in Stack(Encoder is null ? "" : "decoder_")) yield return new(name, t);
        foreach (var (l, t) in CrossAttentions.OrderBy(p => p.Key)) yield return new($"cross_attentions.{l}", t);
    }

    IEnumerable<KeyValuePair<string, Tensor>> Stack(string prefix)
    {
        if (HiddenStates is not null)
            for (int k = 0; k < HiddenStates.Count; k++) yield return new($"{prefix}hidden_states.{k}", HiddenStates[k]);
        foreach (var (l, t) in Attentions.OrderBy(p => p.Key)) yield return new($"{prefix}attentions.{l}", t);
        foreach (var (l, t) in MlpActivations.OrderBy(p => p.Key)) yield return new($"{prefix}mlp_activations.{l}", t);
    }

    /// <summary>Adds <c>input_ids</c> (I64; and <c>decoder_input_ids</c> for an encoder-decoder) and every kept tensor (F32) to a safetensors writer.</summary>
    public SafetensorsWriter AddTo(SafetensorsWriter writer, ForwardInput? input = null)
    {
        var ids = Encoder?.Ids ?? Ids;
        writer.Add("input_ids", Array.ConvertAll(ids, i => (long)i), ids.Length);
        if (Encoder is not null) writer.Add("decoder_input_ids", Array.ConvertAll(Ids, i => (long)i), Ids.Length);
        if (input?.AttentionMask is { } mask) writer.Add("attention_mask", Array.ConvertAll(mask, i => (long)i), mask.Length);
        if (input?.TokenTypeIds is { } types) writer.Add("token_type_ids", Array.ConvertAll(types, i => (long)i), types.Length);
        foreach (var (name, t) in Named()) writer.Add(name, t.Data, t.LongShape);
        return writer;
    }
}
