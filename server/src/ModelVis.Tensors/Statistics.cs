using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelVis.Tensors;

/// <summary>Counts of finite values in <see cref="Counts"/>.Length equal bins over [<see cref="Min"/>, <see cref="Max"/>].
/// Bin i holds edge(i) ≤ x &lt; edge(i + 1); the last bin also holds x = Max (numpy's convention).</summary>
public sealed record TensorHistogram(double Min, double Max, long[] Counts)
{
    public int Bins => Counts.Length;
    public double BinWidth => (Max - Min) / Counts.Length;
    public long Total => Counts.Sum();
}

/// <summary>
/// Summary of a float tensor. <see cref="Min"/>, <see cref="Max"/>, <see cref="Mean"/> and <see cref="Std"/>
/// (population standard deviation) are over finite values only, and NaN when there are none.
/// </summary>
public sealed record TensorStatistics(
    long Count, long Finite, double Min, double Max, double Mean, double Std,
    long Zeros, long NaN, long PositiveInfinity, long NegativeInfinity, TensorHistogram? Histogram = null)
{
    public long Inf => PositiveInfinity + NegativeInfinity;
    public double ZeroFraction => Count == 0 ? 0 : (double)Zeros / Count;
    public double Variance => Std * Std;
    public double MaxAbs => Finite == 0 ? double.NaN : Math.Max(Math.Abs(Min), Math.Abs(Max));
}

/// <summary>Copies <c>destination.Length</c> elements starting at flat index <paramref name="start"/>
/// (e.g. <c>(s, d) => ckpt.ReadFloats(info, s, d)</c>).</summary>
public delegate void FloatChunkReader(long start, Span<float> destination);

/// <summary>
/// One-pass, mergeable moments and counts over chunks of floats: SIMD over each block of 4,096 values
/// (sums in double, shifted by a pivot from the block), blocks combined with Chan et al.'s parallel
/// update, so the mean and variance stay accurate for any length and offset.
/// </summary>
public sealed class StatisticsAccumulator
{
    const int Block = 4096;

    long _count, _finite, _zeros, _nan, _posInf, _negInf;
    double _mean, _m2;
    float _min = float.PositiveInfinity, _max = float.NegativeInfinity;

    public long Count => _count;

    public void Add(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i += Block)
            AddBlock(values.Slice(i, Math.Min(Block, values.Length - i)));
    }

    /// <summary>Merges another accumulator's values into this one (order does not matter).</summary>
    public void Add(StatisticsAccumulator other)
    {
        _count += other._count; _zeros += other._zeros; _nan += other._nan; _posInf += other._posInf; _negInf += other._negInf;
        if (other._min < _min) _min = other._min;
        if (other._max > _max) _max = other._max;
        Merge(other._finite, other._mean, other._m2);
    }

    void Merge(long n, double mean, double m2)
    {
        if (n == 0) return;
        if (_finite == 0) { _finite = n; _mean = mean; _m2 = m2; return; }
        long total = _finite + n;
        double delta = mean - _mean;
        _mean += delta * n / total;
        _m2 += m2 + delta * delta * ((double)_finite * n / total);
        _finite = total;
    }

    void AddBlock(ReadOnlySpan<float> x)
    {
        _count += x.Length;
        // Pivot: the block's first finite value.
        float pivot = float.NaN;
        foreach (var v in x) if (float.IsFinite(v)) { pivot = v; break; }
        if (float.IsNaN(pivot))
        {
            foreach (var v in x) CountNonFinite(v);
            return;
        }

        int i = 0, finite = 0, zeros = 0;
        double s1 = 0, s2 = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vPivot = new Vector<float>(pivot);
            var dPivot = new Vector<double>((double)pivot);
            var vmin = new Vector<float>(float.PositiveInfinity);
            var vmax = new Vector<float>(float.NegativeInfinity);
            Vector<int> vfinite = Vector<int>.Zero, vzeros = Vector<int>.Zero;
            Vector<double> a1 = Vector<double>.Zero, b1 = Vector<double>.Zero, a2 = Vector<double>.Zero, b2 = Vector<double>.Zero;
            ref float r = ref MemoryMarshal.GetReference(x);
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
            {
                var v = Vector.LoadUnsafe(ref r, (nuint)i);
                var isFinite = Vector.Equals(v - v, Vector<float>.Zero);          // NaN and ±Inf give NaN
                vfinite -= isFinite;                                            // lanes are −1 where true
                vzeros -= Vector.Equals(v, Vector<float>.Zero);
                vmin = Vector.Min(vmin, Vector.ConditionalSelect(isFinite, v, new Vector<float>(float.PositiveInfinity)));
                vmax = Vector.Max(vmax, Vector.ConditionalSelect(isFinite, v, new Vector<float>(float.NegativeInfinity)));
                var safe = Vector.ConditionalSelect(isFinite, v, vPivot);
                Vector.Widen(safe, out Vector<double> lo, out Vector<double> hi);
                lo -= dPivot; hi -= dPivot;
                a1 += lo; b1 += hi;
                a2 += lo * lo; b2 += hi * hi;
            }
            finite = Vector.Sum(vfinite);
            zeros = Vector.Sum(vzeros);
            s1 = Vector.Sum(a1 + b1);
            s2 = Vector.Sum(a2 + b2);
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                if (vmin[k] < min) min = vmin[k];
                if (vmax[k] > max) max = vmax[k];
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            if (v == 0) zeros++;
            if (!float.IsFinite(v)) continue;
            finite++;
            if (v < min) min = v;
            if (v > max) max = v;
            double d = (double)v - pivot;
            s1 += d; s2 += d * d;
        }
        if (finite < x.Length)
            foreach (var v in x) if (!float.IsFinite(v)) CountNonFinite(v);

        _zeros += zeros;
        if (min < _min) _min = min;
        if (max > _max) _max = max;
        double mean = s1 / finite;
        Merge(finite, pivot + mean, Math.Max(0, s2 - s1 * mean));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void CountNonFinite(float v)
    {
        if (float.IsNaN(v)) _nan++;
        else if (v > 0) _posInf++;
        else if (v < 0) _negInf++;
    }

    public TensorStatistics Result(TensorHistogram? histogram = null)
    {
        bool any = _finite > 0;
        return new TensorStatistics(_count, _finite,
            any ? _min : double.NaN, any ? _max : double.NaN,
            any ? _mean : double.NaN, any ? Math.Sqrt(_m2 / _finite) : double.NaN,
            _zeros, _nan, _posInf, _negInf, histogram);
    }
}

/// <summary>Equal-width histogram of finite values over a fixed range, fed in chunks.</summary>
public sealed class HistogramAccumulator
{
    readonly double _min, _max, _norm;
    readonly double[] _edges;
    readonly long[][] _lanes;   // four interleaved copies avoid store-to-load stalls on a popular bin
    readonly int _bins;

    public HistogramAccumulator(int bins, double min, double max)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), "at least one bin");
        (min, max) = Statistics.HistogramRange(min, max);
        _bins = bins; _min = min; _max = max;
        _norm = bins / (max - min);
        _edges = new double[bins + 1];
        for (int i = 0; i < bins; i++) _edges[i] = min + i * (max - min) / bins;
        _edges[bins] = max;
        _lanes = [new long[bins], new long[bins], new long[bins], new long[bins]];
    }

    public void Add(ReadOnlySpan<float> values)
    {
        double min = _min, max = _max, norm = _norm;
        int last = _bins - 1;
        var edges = _edges;
        long[] l0 = _lanes[0], l1 = _lanes[1], l2 = _lanes[2], l3 = _lanes[3];
        for (int i = 0; i < values.Length; i++)
        {
            double x = values[i];
            if (!(x >= min && x <= max)) continue;   // NaN, ±Inf and out-of-range values are not counted
            int b = (int)((x - min) * norm);
            if (b > last) b = last;
            if (x < edges[b]) b--;
            else if (b < last && x >= edges[b + 1]) b++;
            switch (i & 3)
            {
                case 0: l0[b]++; break;
                case 1: l1[b]++; break;
                case 2: l2[b]++; break;
                default: l3[b]++; break;
            }
        }
    }

    public TensorHistogram Result()
    {
        var counts = new long[_bins];
        for (int b = 0; b < _bins; b++) counts[b] = _lanes[0][b] + _lanes[1][b] + _lanes[2][b] + _lanes[3][b];
        return new TensorHistogram(_min, _max, counts);
    }
}

/// <summary>Statistics of float tensors (see <see cref="TensorStatistics"/>).</summary>
public static class Statistics
{
    /// <summary>Count, finite min/max/mean/std, zeros, NaN, ±Inf and (when <paramref name="bins"/> &gt; 0) a histogram over
    /// [min, max] of the finite values. Two passes over memory.</summary>
    public static TensorStatistics Compute(ReadOnlySpan<float> values, int bins = 64)
    {
        var acc = new StatisticsAccumulator();
        acc.Add(values);
        var stats = acc.Result();
        if (bins <= 0) return stats;
        var hist = stats.Finite > 0 ? new HistogramAccumulator(bins, stats.Min, stats.Max) : null;
        hist?.Add(values);
        return stats with { Histogram = hist?.Result() ?? new TensorHistogram(double.NaN, double.NaN, new long[bins]) };
    }

    /// <summary>The same over <paramref name="count"/> elements read a chunk at a time: one pass for the moments,
    /// a second for the histogram (skipped when <paramref name="bins"/> is 0). Memory: one chunk.</summary>
    public static TensorStatistics Compute(long count, FloatChunkReader read, int bins = 64, int chunkSize = 1 << 20, CancellationToken cancellationToken = default)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var buffer = new float[Math.Clamp(count, 1, Math.Max(1, chunkSize))];
        var acc = new StatisticsAccumulator();
        for (long start = 0; start < count; start += buffer.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, count - start));
            read(start, chunk);
            acc.Add(chunk);
        }
        var stats = acc.Result();
        if (bins <= 0) return stats;
        if (stats.Finite == 0) return stats with { Histogram = new TensorHistogram(double.NaN, double.NaN, new long[bins]) };
        var hist = new HistogramAccumulator(bins, stats.Min, stats.Max);
        for (long start = 0; start < count; start += buffer.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, count - start));
            read(start, chunk);
            hist.Add(chunk);
        }
        return stats with { Histogram = hist.Result() };
    }

    /// <summary>Histogram of finite values in [min, max] (values outside are not counted).</summary>
    public static TensorHistogram Histogram(ReadOnlySpan<float> values, int bins, double min, double max)
    {
        var h = new HistogramAccumulator(bins, min, max);
        h.Add(values);
        return h.Result();
    }

    /// <summary>The range a histogram actually uses: [min − 0.5, max + 0.5] when min = max (numpy's rule).</summary>
    public static (double Min, double Max) HistogramRange(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
            throw new ArgumentException($"histogram range [{min}, {max}] is not a finite interval");
        return min == max ? (min - 0.5, max + 0.5) : (min, max);
    }
}
