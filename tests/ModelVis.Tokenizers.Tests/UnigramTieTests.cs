using Xunit;

namespace ModelVis.Tokenizers.Tests;

/// <summary>
/// Runs of one repeated character have many segmentations with the same total score; which one wins depends on the last
/// bit of the scores. Hugging Face parses them with serde_json's default (not correctly rounded) float parser; these
/// expectations come from the Rust tokenizers 0.23.2 (they differed before the scores were parsed the same way).
/// </summary>
public class UnigramTieTests
{
    [Theory]
    [InlineData("    // -------------------------------------------", new[] { 13751, 3, 14817, 14817, 18, 14817, 14817, 14817, 14817, 14817, 14817, 14817, 14817, 14817, 14817, 14817, 14817 })]
    [InlineData("a ---- b -------- c", new[] { 3, 9, 3, 18, 14817, 3, 115, 1636, 14817, 14817, 3, 75 })]
    public void Ties_break_like_the_rust_library(string text, int[] expected) =>
        Assert.Equal(expected, ConformanceTests.Load("t5-small").Encode(text, false).Ids);

    [Theory]
    [InlineData("-12.130167007446289")]
    [InlineData("-2.0122928619384766")]
    [InlineData("0.0")]
    [InlineData("1e-5")]
    [InlineData("-3.5")]
    public void Serde_float_parse_is_within_one_ulp_of_a_correct_parse(string raw)
    {
        double serde = Models.SerdeFloat.Parse(raw), exact = double.Parse(raw, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(serde == exact || Math.Abs(BitConverter.DoubleToInt64Bits(serde) - BitConverter.DoubleToInt64Bits(exact)) == 1);
    }
}
