using System.Reflection;

namespace ModelVis.Tokenizers.Unicode;

/// <summary>
/// Decomposition, combining classes, composition and lowercase tables (Unicode 14, from unicode-data.txt).
/// The host runs with InvariantGlobalization, where <c>string.Normalize</c> returns its input unchanged, so the
/// normalizers (NFC/NFD/NFKC/NFKD, StripAccents, BERT's accent stripping) use these tables instead.
/// </summary>
internal static class UnicodeTables
{
    static readonly Dictionary<int, int[]> Canonical = new();
    static readonly Dictionary<int, int[]> Compatibility = new();   // canonical ∪ compatibility, one level
    static readonly Dictionary<int, byte> CombiningClass = new();
    static readonly Dictionary<long, int> Composites = new();
    static readonly Dictionary<int, int[]> Lower = new();
    /// <summary>Below this code point nothing decomposes, composes or has a combining class.</summary>
    public const int FirstInteresting = 0xA0;

    static UnicodeTables()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ModelVis.Tokenizers.unicode-data.txt")
            ?? throw new InvalidOperationException("unicode-data.txt resource missing");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(' ');
            int cp = Convert.ToInt32(f[1], 16);
            switch (f[0])
            {
                case "D":
                    var map = f.Skip(3).Select(h => Convert.ToInt32(h, 16)).ToArray();
                    if (f[2] == "c") Canonical[cp] = map;
                    Compatibility[cp] = map;
                    break;
                case "C": CombiningClass[cp] = byte.Parse(f[2]); break;
                case "P": Composites[((long)cp << 21) | (uint)Convert.ToInt32(f[2], 16)] = Convert.ToInt32(f[3], 16); break;
                case "L": Lower[cp] = f.Skip(2).Select(h => Convert.ToInt32(h, 16)).ToArray(); break;
            }
        }
    }

    public static int Ccc(int cp) => cp < 0x300 ? 0 : CombiningClass.TryGetValue(cp, out var c) ? c : 0;

    // Hangul syllables decompose and compose algorithmically (Unicode §3.12).
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>Appends the full (recursive) decomposition of <paramref name="cp"/>.</summary>
    public static void Decompose(int cp, bool compatibility, List<int> output)
    {
        if (cp < FirstInteresting) { output.Add(cp); return; }
        int s = cp - SBase;
        if (s >= 0 && s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        var table = compatibility ? Compatibility : Canonical;
        if (table.TryGetValue(cp, out var map))
            foreach (var c in map) Decompose(c, compatibility, output);
        else output.Add(cp);
    }

    /// <summary>The primary composite of a starter and a following character, or -1.</summary>
    public static int Compose(int a, int b)
    {
        int l = a - LBase, v = b - VBase;
        if (l >= 0 && l < LCount && v >= 0 && v < VCount) return SBase + (l * VCount + v) * TCount;
        int s = a - SBase, t = b - TBase;
        if (s >= 0 && s < SCount && s % TCount == 0 && t > 0 && t < TCount) return a + t;
        return Composites.TryGetValue(((long)a << 21) | (uint)b, out var c) ? c : -1;
    }

    /// <summary>Full lowercase mapping (İ → i̇), as Rust's <c>char::to_lowercase</c>; null when unchanged.</summary>
    public static int[]? Lowercase(int cp)
    {
        if (cp < 0x80) return cp is >= 'A' and <= 'Z' ? AsciiLower[cp - 'A'] : null;
        return Lower.TryGetValue(cp, out var l) ? l : null;
    }

    static readonly int[][] AsciiLower = Enumerable.Range('a', 26).Select(c => new[] { c }).ToArray();

    public static bool IsNonspacingMark(int cp) =>
        cp >= 0x300 && System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp) == System.Globalization.UnicodeCategory.NonSpacingMark;

    /// <summary>
    /// Normalizes a sequence of (code point, source index) pairs in place to NFD/NFKD, or NFC/NFKC when
    /// <paramref name="compose"/>. A composite keeps the source index of its starter.
    /// </summary>
    public static void Normalize(List<(int Cp, int Src)> chars, bool compatibility, bool compose)
    {
        var decomposed = new List<(int Cp, int Src)>(chars.Count + 8);
        var tmp = new List<int>(4);
        foreach (var (cp, src) in chars)
        {
            tmp.Clear();
            Decompose(cp, compatibility, tmp);
            foreach (var d in tmp) decomposed.Add((d, src));
        }
        // Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 0; i < decomposed.Count; i++)
        {
            if (Ccc(decomposed[i].Cp) == 0) continue;
            int j = i;
            while (j < decomposed.Count && Ccc(decomposed[j].Cp) != 0) j++;
            if (j - i > 1)
            {
                var run = decomposed.GetRange(i, j - i).OrderBy(x => Ccc(x.Cp)).ToList();
                for (int k = 0; k < run.Count; k++) decomposed[i + k] = run[k];
            }
            i = j;
        }
        chars.Clear();
        if (!compose) { chars.AddRange(decomposed); return; }
        // Canonical composition.
        int starter = -1, lastCcc = 0;
        foreach (var item in decomposed)
        {
            int ccc = Ccc(item.Cp);
            if (starter >= 0 && (lastCcc < ccc || (lastCcc == 0 && chars.Count - 1 == starter)))
            {
                int c = Compose(chars[starter].Cp, item.Cp);
                if (c >= 0) { chars[starter] = (c, chars[starter].Src); continue; }
            }
            if (ccc == 0) { starter = chars.Count; lastCcc = 0; }
            else lastCcc = ccc;
            chars.Add(item);
        }
    }
}
