using ModelVis.Autodiff;
using ModelVis.Autodiff.Ops;
using ModelVis.Models;
using ModelVis.Models.Differentiable;
using ModelVis.Tokenizers;

namespace ModelVis.Analysis.Attribution;

public enum AttributionMethod { Saliency, InputXGradient, IntegratedGradients, Occlusion }

public static class AttributionMethods
{
    /// <summary>The short names the CLI and the protocol use: saliency, ixg, ig, occlusion.</summary>
    public static AttributionMethod Parse(string name) => name switch
    {
        "saliency" => AttributionMethod.Saliency,
        "ixg" => AttributionMethod.InputXGradient,
        "ig" => AttributionMethod.IntegratedGradients,
        "occlusion" => AttributionMethod.Occlusion,
        _ => throw new AnalysisException($"method \"{name}\": choose saliency, ixg, ig or occlusion"),
    };
}

/// <summary>
/// What is explained: f(e) = logits[Position, Target], or logits[Position, Target] − logits[Position, Contrast] when a
/// contrast token is given (the pre-softmax logits of the ordinary forward).
/// </summary>
public sealed record AttributionTarget(int Position, int Target, int? Contrast = null)
{
    internal int[] Tokens => Contrast is { } c ? [Target, c] : [Target];
    internal float[] Signs => Contrast is null ? [1f] : [1f, -1f];

    /// <summary>The tokenizer's [MASK] (or &lt;mask&gt;) id, where an encoder's default position is.</summary>
    public static int? MaskTokenId(Tokenizer? tokenizer) => tokenizer is null ? null : tokenizer.TokenToId("[MASK]") ?? tokenizer.TokenToId("<mask>");

    /// <summary>
    /// Fills in defaults as fixtures/README-interp.md defines them: the position is the last token (an encoder: the first
    /// <paramref name="maskTokenId"/> if there is one; an encoder-decoder: the last decoder token), the target the argmax of
    /// the ordinary forward's logits there.
    /// </summary>
    public static AttributionTarget Resolve(LanguageModel model, ForwardInput input, int? position, int? target, int? contrast,
        int? maskTokenId = null, CancellationToken ct = default)
    {
        if (input.Length == 0) throw new AnalysisException("no tokens to attribute");
        int n = LogitRows(model.Config, input);
        int p = position ?? (!model.Config.IsCausal && maskTokenId is { } mask && Array.IndexOf(input.Ids, mask) is >= 0 and var at ? at : n - 1);
        if ((uint)p >= (uint)n) throw new AnalysisException($"position {p} is outside the {n} tokens (0..{n - 1})");
        int vocab = model.Config.Vocab;
        foreach (var (name, id) in new[] { ("target", target), ("contrast", contrast) })
            if (id is { } t && (uint)t >= (uint)vocab) throw new AnalysisException($"{name} {t} is outside the vocabulary (0..{vocab - 1})");
        if (target is null)
        {
            var logits = model.Forward(input, CaptureRequest.LogitsOnly, ct).Logits
                ?? throw new AnalysisException($"{model.Config.ModelType}: this checkpoint has no output head, so it has no logits to attribute");
            target = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Row(p));
        }
        return new AttributionTarget(p, target.Value, contrast);
    }

    /// <summary>How many positions have logits: the tokens, or an encoder-decoder's decoder tokens (which it needs).</summary>
    internal static int LogitRows(ModelConfig config, ForwardInput input)
    {
        if (!config.IsEncoderDecoder) return input.Length;
        return input.DecoderIds is { Length: > 0 } decoder ? decoder.Length
            : throw new AnalysisException($"{config.ModelType} is an encoder-decoder: its logits are the decoder's, so give the decoder's input ids too (starting with decoder_start_token_id {config.DecoderStartTokenId})");
    }
}

/// <summary>
/// The integrated-gradients baseline e′: every row zero (<see cref="Zero"/>, positions and token types still added), or
/// every row the embedding of token <see cref="TokenId"/> (pad / unk), with the first token's own row kept when
/// <see cref="KeepFirst"/> (a BOS): on RMSNorm models the zero path jumps near α = 0, a token baseline stays at normal norms.
/// </summary>
public sealed record Baseline(int? TokenId = null, bool KeepFirst = false)
{
    public static Baseline Zero { get; } = new();

    /// <summary>The token baseline: the pad token's row (else the unk token's) for every token, a leading BOS kept as it is.</summary>
    public static Baseline PadOrUnk(ModelConfig config, Tokenizer? tokenizer, int firstId) =>
        new(config.PadTokenId ?? tokenizer?.PadTokenId ?? tokenizer?.UnkTokenId
                ?? throw new AnalysisException("this model has neither a pad nor an unk token to use as the baseline; use the zero baseline"),
            (tokenizer?.BosTokenId ?? config.BosTokenId) is { } bos && firstId == bos);

    /// <summary>"zero" or "token" (<see cref="PadOrUnk"/>), as the CLI and the protocol name them.</summary>
    public static Baseline Parse(string name, ModelConfig config, Tokenizer? tokenizer, int firstId) => name switch
    {
        "zero" => Zero,
        "token" => PadOrUnk(config, tokenizer, firstId),
        _ => throw new AnalysisException($"baseline \"{name}\": choose zero or token"),
    };
}

/// <summary>Σᵢ IGᵢ against f(e) − f(e′): how well m steps integrate the path.</summary>
public sealed record Completeness(int Steps, double SumOfAttributions, double TargetValue, double BaselineValue)
{
    public double Difference => TargetValue - BaselineValue;
    public double RelativeError => Math.Abs(SumOfAttributions - Difference) / Math.Abs(Difference);
}

/// <summary>Per-token scores, f(e), and for integrated gradients its completeness.</summary>
public sealed record TokenAttributionResult(AttributionMethod Method, AttributionTarget Target, double TargetValue, float[] Scores,
    Completeness? Completeness = null);

/// <summary>
/// Gradient attribution of one logit (difference) to the input tokens, exactly as fixtures/README-interp.md section A
/// defines it: the variables are the looked-up token-embedding rows e_i (before positions, token types or norms; on an
/// encoder-decoder the encoder's tokens, the position a decoder position), every
/// weight is constant (a tied unembedding is not differentiated), and g_i = ∂f/∂e_i.
/// <code>
///   saliency_i          = ‖g_i‖₂
///   input × gradient_i  = e_i · g_i
///   integrated grads_i  = (e_i − e′_i) · (1/m) Σ_k g_i(e′ + α_k (e − e′)),   α_k = (k + ½)/m   (all tokens move together)
///   occlusion_i         = f(e) − f(e with row i zero)                         one forward per token, no gradients
/// </code>
/// Passes run in batches on one tape (the steps of integrated gradients, the occluded copies), sized to bound memory.
/// </summary>
public static class TokenAttribution
{
    /// <summary>About how many floats one batch of passes may keep on the tape (256 MB).</summary>
    const long TapeBudgetFloats = 64L << 20;

    public static TokenAttributionResult Run(DifferentiableModel model, ForwardInput input, AttributionTarget target, AttributionMethod method,
        int steps = 64, Baseline? baseline = null, Action<int, int>? progress = null, CancellationToken ct = default)
    {
        Check(model, input, target);
        return method switch
        {
            AttributionMethod.Saliency or AttributionMethod.InputXGradient => FromGradient(model, input, target, method),
            AttributionMethod.IntegratedGradients => IntegratedGradients(model, input, target, steps, baseline ?? Baseline.Zero, progress, ct),
            AttributionMethod.Occlusion => Occlusion(model, input, target, progress, ct),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
    }

    /// <summary>f(e) and g = ∂f/∂e [n, d] at the input's own embedding rows.</summary>
    public static (double Value, float[] Gradient) Gradient(DifferentiableModel model, ForwardInput input, AttributionTarget target)
    {
        Check(model, input, target);
        var (values, gradient) = Evaluate(model, input, target, model.EmbeddingRows(input.Ids), 1, withGradient: true);
        return (values[0], gradient!);
    }

    static TokenAttributionResult FromGradient(DifferentiableModel model, ForwardInput input, AttributionTarget target, AttributionMethod method)
    {
        int n = input.Length, d = model.Config.Hidden;
        var e = model.EmbeddingRows(input.Ids);
        var (values, g) = Evaluate(model, input, target, e, 1, withGradient: true);
        var scores = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = i * d; j < (i + 1) * d; j++) s += method == AttributionMethod.Saliency ? (double)g![j] * g[j] : (double)e[j] * g![j];
            scores[i] = (float)(method == AttributionMethod.Saliency ? Math.Sqrt(s) : s);
        }
        return new TokenAttributionResult(method, target, values[0], scores);
    }

    static TokenAttributionResult IntegratedGradients(DifferentiableModel model, ForwardInput input, AttributionTarget target, int steps,
        Baseline baseline, Action<int, int>? progress, CancellationToken ct)
    {
        if (steps < 1) throw new AnalysisException($"integrated gradients needs at least 1 step, got {steps}");
        int n = input.Length, d = model.Config.Hidden;
        var e = model.EmbeddingRows(input.Ids);
        var start = BaselineRows(model, input, baseline);
        var endpoints = Evaluate(model, input, target, [.. e, .. start], 2, withGradient: false).Values;
        int chunk = PassesPerBatch(model, input, steps);
        var meanGradient = new double[n * d];
        for (int k0 = 0; k0 < steps; k0 += chunk)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(chunk, steps - k0);
            var rows = new float[count * n * d];
            for (int b = 0; b < count; b++)
            {
                float alpha = (float)((k0 + b + 0.5) / steps);
                for (int j = 0; j < n * d; j++) rows[b * n * d + j] = start[j] + alpha * (e[j] - start[j]);
            }
            var g = Evaluate(model, input, target, rows, count, withGradient: true).Gradient!;
            for (int b = 0; b < count; b++)
                for (int j = 0; j < n * d; j++) meanGradient[j] += g[b * n * d + j];
            progress?.Invoke(k0 + count, steps);
        }
        var scores = new float[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = i * d; j < (i + 1) * d; j++) s += ((double)e[j] - start[j]) * (meanGradient[j] / steps);
            scores[i] = (float)s;
            sum += s;
        }
        return new TokenAttributionResult(AttributionMethod.IntegratedGradients, target, endpoints[0], scores,
            new Completeness(steps, sum, endpoints[0], endpoints[1]));
    }

    static float[] BaselineRows(DifferentiableModel model, ForwardInput input, Baseline baseline)
    {
        int n = input.Length, d = model.Config.Hidden;
        if (baseline.TokenId is not { } token) return new float[n * d];
        var ids = Enumerable.Repeat(token, n).ToArray();
        if (baseline.KeepFirst) ids[0] = input.Ids[0];
        return model.EmbeddingRows(ids);
    }

    static TokenAttributionResult Occlusion(DifferentiableModel model, ForwardInput input, AttributionTarget target, Action<int, int>? progress, CancellationToken ct)
    {
        int n = input.Length, d = model.Config.Hidden;
        var e = model.EmbeddingRows(input.Ids);
        // Pass 0 is the input as it is; pass i + 1 has row i zeroed. By causality a decoder's tokens after the position score exactly 0.
        int last = model.IsCausal ? target.Position : n - 1, passes = last + 2;
        var values = new double[passes];
        int chunk = PassesPerBatch(model, input, passes);
        for (int p0 = 0; p0 < passes; p0 += chunk)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(chunk, passes - p0);
            var rows = new float[count * n * d];
            for (int b = 0; b < count; b++)
            {
                e.CopyTo(rows, b * n * d);
                int occluded = p0 + b - 1;
                if (occluded >= 0) Array.Clear(rows, b * n * d + occluded * d, d);
            }
            Evaluate(model, input, target, rows, count, withGradient: false).Values.CopyTo(values, p0);
            progress?.Invoke(p0 + count, passes);
        }
        var scores = new float[n];
        for (int i = 0; i <= last; i++) scores[i] = (float)(values[0] - values[i + 1]);
        return new TokenAttributionResult(AttributionMethod.Occlusion, target, values[0], scores);
    }

    /// <summary>f for each of <paramref name="batch"/> passes over the token rows <paramref name="rows"/> [batch·n, d], and ∂f/∂rows when asked for.</summary>
    static (double[] Values, float[]? Gradient) Evaluate(DifferentiableModel model, ForwardInput input, AttributionTarget target, float[] rows, int batch, bool withGradient)
    {
        var tape = new Tape<float> { Recording = withGradient };
        var e = new Var<float>(rows, [rows.Length / model.Config.Hidden, model.Config.Hidden], requiresGrad: withGradient, name: "token_embeddings");
        var logits = model.Logits(tape, e, batch, input, target.Position, target.Tokens);          // [batch, tokens]
        var signs = target.Signs;
        var weights = new float[batch * signs.Length];
        for (int b = 0; b < batch; b++) signs.CopyTo(weights, b * signs.Length);
        var values = new double[batch];
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < signs.Length; j++) values[b] += (double)signs[j] * logits.Data[b * signs.Length + j];
        if (!withGradient) return (values, null);
        tape.Backward(tape.WeightedSum(logits, weights));                                         // the passes are independent: Σ_b f_b
        return (values, e.Grad);
    }

    /// <summary>How many passes to put on one tape: what the largest activations of a pass cost, against <see cref="TapeBudgetFloats"/>.</summary>
    static int PassesPerBatch(DifferentiableModel model, ForwardInput input, int wanted)
    {
        var c = model.Config;
        int n = input.Length + (input.DecoderIds?.Length ?? 0);          // an encoder-decoder runs both sequences
        long perPass = (long)c.Layers * n * (12L * c.Hidden + 4L * c.Intermediate + 3L * c.Heads * n) + 4L * n * c.Hidden;
        return (int)Math.Clamp(TapeBudgetFloats / Math.Max(1, perPass), 1, Math.Min(wanted, 64));
    }

    static void Check(DifferentiableModel model, ForwardInput input, AttributionTarget target)
    {
        int vocab = model.Config.Vocab;
        if (input.Length == 0) throw new AnalysisException("no tokens to attribute");
        int n = AttributionTarget.LogitRows(model.Config, input);
        if ((uint)target.Position >= (uint)n) throw new AnalysisException($"position {target.Position} is outside the {n} tokens (0..{n - 1})");
        foreach (var t in target.Tokens)
            if ((uint)t >= (uint)vocab) throw new AnalysisException($"token {t} is outside the vocabulary (0..{vocab - 1})");
    }
}
