using System.Globalization;
using System.Text;
using SkiaSharp;

namespace ModelVis.Render.Figures;

/// <summary>Colours of a figure's page, text and frames.</summary>
public sealed record FigureTheme(string Name, SKColor Background, SKColor Text, SKColor Muted, SKColor Frame)
{
    public static FigureTheme Light { get; } = new("light", SKColors.White, new SKColor(0x1F, 0x1F, 0x1F), new SKColor(0x5F, 0x5F, 0x5F), new SKColor(0xB8, 0xB8, 0xB8));
    public static FigureTheme Dark { get; } = new("dark", new SKColor(0x1E, 0x1E, 0x1E), new SKColor(0xEC, 0xEC, 0xEC), new SKColor(0xA8, 0xA8, 0xA8), new SKColor(0x55, 0x55, 0x55));

    public static FigureTheme Get(string name) => name.ToLowerInvariant() switch
    {
        "light" => Light,
        "dark" => Dark,
        _ => throw new ArgumentException($"unknown theme `{name}` (light or dark)"),
    };
}

/// <summary>
/// The font figures are drawn in: DejaVu Sans, shipped beside the program in fonts/ (SkiaSharp without fontconfig has
/// no system fonts and would silently draw no text, so a missing file is an error, never a blank label).
/// </summary>
public static class FigureFont
{
    public const string FileName = "DejaVuSans.ttf";
    static readonly Lazy<SKTypeface> Loaded = new(Load);

    public static string FilePath => Path.Combine(AppContext.BaseDirectory, "fonts", FileName);
    public static SKTypeface Typeface => Loaded.Value;

    static SKTypeface Load()
    {
        var path = FilePath;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: the figure font is missing; it ships with ModelVis (reinstall, or rebuild the host)", path);
        var typeface = SKTypeface.FromFile(path) ?? throw new InvalidDataException($"{path}: not a font SkiaSharp can read");
        using var probe = new SKFont(typeface);
        if (probe.GetGlyph('A') == 0) throw new InvalidDataException($"{path}: the font has no glyph for 'A'");
        return typeface;
    }

    public static SKFont Font(float size) => new(Typeface, size) { Subpixel = true, Edging = SKFontEdging.Antialias };

    static readonly Lazy<SKFont> GlyphProbe = new(() => new SKFont(Typeface));

    public static bool HasGlyph(int codePoint)
    {
        var font = GlyphProbe.Value;
        lock (font) return font.GetGlyph(codePoint) != 0;
    }
}

/// <summary>Token strings made printable for a figure's axis.</summary>
public static class FigureLabels
{
    /// <summary>
    /// Spaces become "·" (a token of spaces only "␣", so it is not read as a full stop), a newline "↵", a tab "→",
    /// other control characters and characters the font lacks (CJK, most emoji) "\u{…}" escapes; labels longer than <paramref name="maxChars"/> end in "…"; an empty token is "∅".
    /// <paramref name="readable"/> is the tokenizer's readable form (Ġ and ▁ already turned into spaces).
    /// </summary>
    public static string Token(string readable, int maxChars = 14)
    {
        // One unit per character shown (an escape is one unit, so a cut never splits it).
        var units = new List<string>();
        bool onlySpaces = readable.Length > 0 && readable.All(c => c is ' ' or '\u00A0');
        var elements = StringInfo.GetTextElementEnumerator(readable);
        while (elements.MoveNext())
        {
            var element = elements.GetTextElement();
            var rune = Rune.GetRuneAt(element, 0);
            int v = rune.Value;
            units.Add(v switch
            {
                ' ' or '\u00A0' => onlySpaces ? "␣" : "·",
                '\n' => "↵",
                '\t' => "→",
                _ when Rune.IsControl(rune) || !FigureFont.HasGlyph(v) => v < 0x10000 ? $"\\u{v:X4}" : $"\\u{{{v:X}}}",
                _ => element,
            });
        }
        if (units.Count == 0) return "∅";
        return units.Count > maxChars ? string.Concat(units.Take(maxChars - 1)) + "…" : string.Concat(units);
    }

    /// <summary>The text a figure's subtitle quotes: one line, at most 48 characters, in quotation marks.</summary>
    public static string Excerpt(string text)
    {
        var s = text.ReplaceLineEndings(" ").Trim();
        return s.Length <= 48 ? $"“{s}”" : $"“{s[..47]}…”";
    }

    /// <summary>A tick value with as few digits as it needs ("0", "0.25", "1").</summary>
    public static string Number(double v) => v.ToString(Math.Abs(v) >= 10 ? "0.#" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>Up to about <paramref name="count"/> ticks at 1, 2 or 5 × 10^k from 0 to <paramref name="high"/>.</summary>
    public static double[] Ticks(double high, int count = 5)
    {
        if (!(high > 0)) return [0];
        double raw = high / count, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (int i = 0; i * step <= high * (1 + 1e-9); i++) ticks.Add(Math.Round(i * step, 10));
        return ticks.ToArray();
    }
}
