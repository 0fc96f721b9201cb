namespace ModelVis.Runs;

/// <summary>One scalar tag's points in file order. Wall times are seconds since 1970, NaN where the log has none.</summary>
public sealed class ScalarSeries(string tag)
{
    public string Tag { get; } = tag;
    public List<long> Steps { get; } = [];
    public List<double> Values { get; } = [];
    public List<double> WallTimes { get; } = [];
    public int Count => Steps.Count;

    public void Add(long step, double value, double wallTime)
    {
        Steps.Add(step);
        Values.Add(value);
        WallTimes.Add(wallTime);
    }
}

/// <summary>
/// One histogram summary: bucket i holds <c>Counts[i]</c> values in (<c>Left[i]</c>, <c>Right[i]</c>]. The old
/// <c>HistogramProto</c> and TF2's <c>[k, 3]</c> tensors both become this.
/// </summary>
public sealed record HistogramStep(long Step, double WallTime, double[] Left, double[] Right, double[] Counts)
{
    public double Total => Counts.Sum();
    public double Min => Left.Length == 0 ? double.NaN : Left[0];
    public double Max => Right.Length == 0 ? double.NaN : Right[^1];
}

public sealed class HistogramSeries(string tag)
{
    public string Tag { get; } = tag;
    public List<HistogramStep> Steps { get; } = [];
}

/// <summary>
/// Everything read from a run (one folder, or one file): scalar and histogram tags in order of first
/// appearance, the records that could not be read, and where each file was read up to, so that a file that
/// grows is read on from there.
/// </summary>
public sealed class RunData
{
    public OrderedDictionary<string, ScalarSeries> Scalars { get; } = new(StringComparer.Ordinal);
    public OrderedDictionary<string, HistogramSeries> Histograms { get; } = new(StringComparer.Ordinal);

    /// <summary>Records that were damaged and skipped (with file and offset).</summary>
    public List<RecordProblem> Problems { get; } = [];

    /// <summary>Things worth saying that are not errors: summaries of plugins not shown, a record still being written.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Where each file was read up to, and what reading on needs to know (see <see cref="RunReader.ReadOn"/>).</summary>
    public RunCursor Cursor { get; init; } = new();

    /// <summary>Per file: the byte offset to resume reading from.</summary>
    public IReadOnlyDictionary<string, long> Offsets => Cursor.Files.ToDictionary(f => f.Key, f => f.Value.Offset, StringComparer.Ordinal);

    /// <summary>Per plugin not read here (images, text, hparams…): how many summary values were passed over.</summary>
    internal Dictionary<string, int> SkippedPlugins { get; } = new(StringComparer.Ordinal);

    public ScalarSeries Scalar(string tag)
    {
        if (!Scalars.TryGetValue(tag, out var s)) Scalars.Add(tag, s = new ScalarSeries(tag));
        return s;
    }

    public HistogramSeries Histogram(string tag)
    {
        if (!Histograms.TryGetValue(tag, out var h)) Histograms.Add(tag, h = new HistogramSeries(tag));
        return h;
    }
}

/// <summary>Where a file was read up to: a byte offset, and for text logs the lines and data rows before it.</summary>
public sealed record FilePosition(long Offset, int Lines = 0, int Rows = 0);

/// <summary>
/// What reading a run on from where it stopped needs: each file's position, and each tag's plugin (TF2 names the
/// plugin on a tag's first summary only). Plain data, so a client can hold it and hand it back.
/// </summary>
public sealed class RunCursor
{
    public Dictionary<string, FilePosition> Files { get; init; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Plugins { get; init; } = new(StringComparer.Ordinal);

    public RunCursor Copy() => new()
    {
        Files = new Dictionary<string, FilePosition>(Files, StringComparer.Ordinal),
        Plugins = new Dictionary<string, string>(Plugins, StringComparer.Ordinal),
    };
}

/// <summary>A log that cannot be read at all (not a damaged record, which is skipped and reported).</summary>
public sealed class RunFormatException(string message, Exception? inner = null) : Exception(message, inner);
