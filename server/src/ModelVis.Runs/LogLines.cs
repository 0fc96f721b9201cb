using System.Text;

namespace ModelVis.Runs;

/// <summary>Lines of a text log with their byte offsets, so that a log that grows is read on from where it stopped.</summary>
static class LogLines
{
    public readonly record struct Line(long Offset, long End, string Text, bool Terminated, int Number);

    /// <summary>
    /// The lines from byte <paramref name="start"/> on (numbered from <paramref name="firstNumber"/>), CR/LF trimmed.
    /// The last line is yielded with <c>Terminated = false</c> when the file does not end in a newline.
    /// </summary>
    public static IEnumerable<Line> Read(string path, long start, int firstNumber)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        if (start > stream.Length) yield break;
        stream.Position = start;
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        long lineStart = start, pos = start;
        int number = firstNumber;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            int from = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, from, i - from);
                from = i + 1;
                yield return new Line(lineStart, pos + i + 1, Decode(line), true, number++);
                line.SetLength(0);
                lineStart = pos + i + 1;
            }
            line.Write(buffer, from, n - from);
            pos += n;
        }
        if (line.Length > 0) yield return new Line(lineStart, pos, Decode(line), false, number);
    }

    static string Decode(MemoryStream line)
    {
        var span = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (span.Length > 0 && span[^1] == (byte)'\r') span = span[..^1];
        if (span.Length >= 3 && span[0] == 0xEF && span[1] == 0xBB && span[2] == 0xBF) span = span[3..];
        return Encoding.UTF8.GetString(span);
    }

    /// <summary>Column or key names that give the x axis, in order of preference.</summary>
    public static readonly string[] StepNames = ["step", "global_step", "iteration", "iter", "epoch"];

    /// <summary>Column or key names that give the wall time (seconds since 1970).</summary>
    public static readonly string[] TimeNames = ["wall_time", "walltime", "time", "timestamp"];

    public static bool TryNumber(string text, out double value)
    {
        text = text.Trim();
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value)) return true;
        // Python's spellings of the non-finite values.
        switch (text.ToLowerInvariant())
        {
            case "nan": value = double.NaN; return true;
            case "inf" or "+inf" or "infinity": value = double.PositiveInfinity; return true;
            case "-inf" or "-infinity": value = double.NegativeInfinity; return true;
        }
        return false;
    }
}
