using System.Globalization;

namespace ModelVis.Tokenizers.Models;

/// <summary>
/// Parses a JSON number the way Rust's serde_json does by default (without its float_roundtrip feature): the decimal
/// digits as a u64 converted to f64, then one multiplication or division by a power of ten. For the 17-digit scores of
/// Unigram vocabularies this can differ by one ulp from a correctly rounded parse, and Viterbi ties between
/// equal-scoring segmentations are then broken the same way as in Hugging Face.
/// </summary>
internal static class SerdeFloat
{
    static readonly double[] Pow10 = Enumerable.Range(0, 309).Select(i => double.Parse("1e" + i, CultureInfo.InvariantCulture)).ToArray();

    public static double Parse(ReadOnlySpan<char> s)
    {
        int i = 0;
        bool positive = true;
        if (i < s.Length && s[i] == '-') { positive = false; i++; }
        ulong significand = 0;
        int exponent = 0;
        bool overflowed = false;
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
        {
            ulong d = (ulong)(s[i] - '0');
            if (overflowed || significand > (ulong.MaxValue - d) / 10) { overflowed = true; exponent++; continue; }
            significand = significand * 10 + d;
        }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
            {
                ulong d = (ulong)(s[i] - '0');
                if (overflowed || significand > (ulong.MaxValue - d) / 10) { overflowed = true; continue; } // later digits ignored
                significand = significand * 10 + d;
                exponent--;
            }
        }
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            bool expPositive = true;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) { expPositive = s[i] == '+'; i++; }
            int e = 0;
            for (; i < s.Length && char.IsAsciiDigit(s[i]); i++) e = Math.Min(e * 10 + (s[i] - '0'), 100_000);
            exponent += expPositive ? e : -e;
        }
        double f = significand;
        while (true)
        {
            int abs = Math.Abs(exponent);
            if (abs < Pow10.Length)
            {
                f = exponent >= 0 ? f * Pow10[abs] : f / Pow10[abs];
                break;
            }
            if (f == 0) break;
            if (exponent >= 0) return positive ? double.PositiveInfinity : double.NegativeInfinity;
            f /= 1e308;
            exponent += 308;
        }
        return positive ? f : -f;
    }
}
