namespace ModelVis.Tensors;

/// <summary>
/// How rotary frequencies are stretched for long contexts (Hugging Face <c>rope_scaling</c>).
/// <c>Type</c> is one of "default", "linear", "dynamic", "llama3", "yarn", "longrope".
/// Longrope (Phi-3) divides each frequency by its own factor, <see cref="ShortFactor"/> while the sequence fits
/// <see cref="OriginalMaxPositions"/> and <see cref="LongFactor"/> beyond it. "frequency_factors" (not a config.json
/// type) divides each frequency by <see cref="FrequencyFactors"/>: what llama.cpp stores as <c>rope_freqs.weight</c>
/// in a GGUF file instead of Llama 3's scaling parameters.
/// </summary>
public sealed record RopeScaling(
    string Type,
    double Factor = 1,
    int? OriginalMaxPositions = null,
    double LowFreqFactor = 1,
    double HighFreqFactor = 4,
    double? AttentionFactor = null,
    double BetaFast = 32,
    double BetaSlow = 1,
    double? MScale = null,
    double? MScaleAllDim = null,
    double[]? ShortFactor = null,
    double[]? LongFactor = null,
    float[]? FrequencyFactors = null)
{
    public static readonly string[] SupportedTypes = ["default", "linear", "dynamic", "llama3", "yarn", "longrope"];
}

/// <summary>
/// Rotary position embeddings in the Hugging Face "rotate_half" convention: the head vector is split in two
/// halves (x₁, x₂) and rotated as (x₁cos − x₂sin, x₂cos + x₁sin), with angle = position · θ^(−2j/d) for
/// j = 0..d/2−1, the same angle used for both halves. Tables are float32, computed the way HF does.
/// With partial rotary (Phi-3's partial_rotary_factor, GPT-NeoX's rotary_pct) d is the rotated width, smaller than
/// the head: <see cref="Apply"/> rotates the first d channels of each head and leaves the rest as they are.
/// </summary>
public sealed class Rotary
{
    public int HeadDim { get; }
    public double Theta { get; }
    public RopeScaling? Scaling { get; }
    /// <summary>The model's max_position_embeddings (the "original" context for dynamic/yarn scaling when not given).</summary>
    public int MaxPositions { get; }

    readonly float[] _invFreq;
    /// <summary>Longrope's frequencies past the original context (<see cref="_invFreq"/> holds the short ones).</summary>
    readonly float[]? _longInvFreq;
    readonly int _longropeOriginal;
    readonly float _attentionFactor = 1f;

    public Rotary(int headDim, double theta, int maxPositions, RopeScaling? scaling = null)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"rotary embeddings need an even head dimension, got {headDim}");
        HeadDim = headDim;
        Theta = theta;
        MaxPositions = maxPositions;
        Scaling = scaling is { Type: "default" } ? null : scaling;
        _invFreq = InverseFrequencies(theta);
        switch (Scaling?.Type)
        {
            case null or "dynamic": break;
            case "linear":
                for (int j = 0; j < _invFreq.Length; j++) _invFreq[j] = (float)(_invFreq[j] / Scaling.Factor);
                break;
            case "llama3": Llama3(Scaling); break;
            case "yarn": _attentionFactor = Yarn(Scaling); break;
            case "frequency_factors" when Scaling.FrequencyFactors is { } factors && factors.Length == _invFreq.Length:
                for (int j = 0; j < _invFreq.Length; j++) _invFreq[j] /= factors[j];
                break;
            case "frequency_factors":
                throw new ArgumentException($"rotary frequency factors: {Scaling.FrequencyFactors?.Length ?? 0} given, head dimension {HeadDim} needs {_invFreq.Length}");
            case "longrope":
                _longropeOriginal = Scaling.OriginalMaxPositions ?? throw new ArgumentException("longrope scaling needs original_max_position_embeddings");
                _invFreq = LongropeFrequencies(Scaling.ShortFactor, "short_factor");
                _longInvFreq = LongropeFrequencies(Scaling.LongFactor, "long_factor");
                _attentionFactor = LongropeAttentionFactor(Scaling);
                break;
            default:
                throw new ArgumentException($"rope_scaling type \"{Scaling.Type}\" is not supported (supported: {string.Join(", ", RopeScaling.SupportedTypes)})");
        }
    }

    float[] InverseFrequencies(double theta)
    {
        // inv_freq = 1 / theta^(arange(0, d, 2) / d), in float32 like HF.
        var inv = new float[HeadDim / 2];
        for (int j = 0; j < inv.Length; j++)
        {
            float exponent = (float)(2 * j) / HeadDim;
            inv[j] = 1f / (float)Math.Pow(theta, exponent);
        }
        return inv;
    }

    void Llama3(RopeScaling s)
    {
        double old = s.OriginalMaxPositions ?? 8192;
        double lowWavelen = old / s.LowFreqFactor, highWavelen = old / s.HighFreqFactor;
        for (int j = 0; j < _invFreq.Length; j++)
        {
            double f = _invFreq[j], wavelen = 2 * Math.PI / f;
            if (wavelen > lowWavelen) f /= s.Factor;                       // low frequencies: interpolate
            else if (wavelen >= highWavelen)                               // medium: blend smoothly
            {
                double smooth = (old / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                f = (1 - smooth) * f / s.Factor + smooth * f;
            }
            _invFreq[j] = (float)f;                                        // high frequencies unchanged
        }
    }

    /// <summary>Longrope: inv_freq[j] = 1 / (factor[j] · θ^(2j/d)), in float32 like HF.</summary>
    float[] LongropeFrequencies(double[]? factors, string name)
    {
        if (factors is null || factors.Length != HeadDim / 2)
            throw new ArgumentException($"longrope {name} needs {HeadDim / 2} values (half the rotary dimension {HeadDim}), got {factors?.Length ?? 0}");
        var inv = new float[HeadDim / 2];
        for (int j = 0; j < inv.Length; j++)
        {
            float exponent = (float)(2 * j) / HeadDim;
            inv[j] = 1f / ((float)factors[j] * (float)Math.Pow(Theta, exponent));
        }
        return inv;
    }

    /// <summary>cos and sin are scaled by √(1 + ln(f) / ln(original)), f = max_positions / original (1 when f ≤ 1), unless given.</summary>
    float LongropeAttentionFactor(RopeScaling s)
    {
        if (s.AttentionFactor is { } given) return (float)given;
        double factor = s.Factor != 1 ? s.Factor : (double)MaxPositions / _longropeOriginal;
        return factor <= 1 ? 1f : (float)Math.Sqrt(1 + Math.Log(factor) / Math.Log(_longropeOriginal));
    }

    float Yarn(RopeScaling s)
    {
        int d = HeadDim;
        double original = s.OriginalMaxPositions ?? MaxPositions;
        static double MScaleOf(double scale, double m = 1) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;
        double attention = s.AttentionFactor
            ?? (s.MScale is { } m && s.MScaleAllDim is { } mAll && m != 0 && mAll != 0 ? MScaleOf(s.Factor, m) / MScaleOf(s.Factor, mAll) : MScaleOf(s.Factor));
        double CorrectionDim(double rotations) => d * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(Theta));
        double low = Math.Max(Math.Floor(CorrectionDim(s.BetaFast)), 0);
        double high = Math.Min(Math.Ceiling(CorrectionDim(s.BetaSlow)), d - 1);
        if (low == high) high += 0.001;
        for (int j = 0; j < _invFreq.Length; j++)
        {
            double extrapolation = _invFreq[j], interpolation = extrapolation / s.Factor;
            double ramp = Math.Clamp((j - low) / (high - low), 0, 1);
            double extrapolationWeight = 1 - ramp;
            _invFreq[j] = (float)(interpolation * (1 - extrapolationWeight) + extrapolation * extrapolationWeight);
        }
        return (float)attention;
    }

    /// <summary>cos and sin tables [positions, headDim] (each half repeated) for positions 0..n−1.</summary>
    public (float[] Cos, float[] Sin) Tables(int n)
    {
        var inv = _invFreq;
        // Longrope picks one set of factors for the whole pass: the long ones when the last position is past the original context.
        if (_longInvFreq is not null && n > _longropeOriginal) inv = _longInvFreq;
        if (Scaling?.Type == "dynamic" && n > MaxPositions)
        {
            // Dynamic NTK: grow the base with the sequence length beyond the trained context.
            double factor = Scaling.Factor;
            double theta = Theta * Math.Pow(factor * n / MaxPositions - (factor - 1), HeadDim / (HeadDim - 2.0));
            inv = InverseFrequencies(theta);
        }
        int half = HeadDim / 2;
        var cos = new float[n * HeadDim];
        var sin = new float[n * HeadDim];
        for (int p = 0; p < n; p++)
            for (int j = 0; j < half; j++)
            {
                float angle = inv[j] * (float)p;
                float c = (float)Math.Cos(angle) * _attentionFactor, s = (float)Math.Sin(angle) * _attentionFactor;
                cos[p * HeadDim + j] = cos[p * HeadDim + j + half] = c;
                sin[p * HeadDim + j] = sin[p * HeadDim + j + half] = s;
            }
        return (cos, sin);
    }

    /// <summary>
    /// Rotates, in place, <paramref name="heads"/> head vectors per row: row r's heads start at
    /// <c>r · rowStride + offset</c>, <paramref name="headStride"/> apart (0: <see cref="HeadDim"/>, heads back to back);
    /// the first <see cref="HeadDim"/> channels of each head rotate, any others pass through. Row r has position r.
    /// </summary>
    public void Apply(Span<float> x, int rows, int rowStride, int offset, int heads, float[] cos, float[] sin, int headStride = 0)
    {
        int d = HeadDim, half = d / 2;
        if (headStride <= 0) headStride = d;
        for (int r = 0; r < rows; r++)
        {
            var c = cos.AsSpan(r * d, d);
            var s = sin.AsSpan(r * d, d);
            for (int h = 0; h < heads; h++)
            {
                var v = x.Slice(r * rowStride + offset + h * headStride, d);
                for (int j = 0; j < half; j++)
                {
                    float x1 = v[j], x2 = v[j + half];
                    // q·cos + rotate_half(q)·sin, rotate_half(q) = (−x₂, x₁): two products, then the sum (no FMA, as torch).
                    v[j] = x1 * c[j] + -x2 * s[j];
                    v[j + half] = x2 * c[j + half] + x1 * s[j + half];
                }
            }
        }
    }
}
