using System.Text.RegularExpressions;
using ModelVis.Checkpoints;

namespace ModelVis.Runs;

/// <summary>One checkpoint of a series: its file or folder, its name, and the step it was saved at.</summary>
public sealed record SeriesCheckpoint(string Path, string Name, long Step);

/// <summary>A tensor present in every checkpoint of a series with the same shape.</summary>
public sealed record SeriesTensor(string Name, long[] Shape);

/// <summary>
/// The checkpoints one training run saved into one folder (Lightning's <c>epoch=0-step=100.ckpt</c> …, HF Trainer's
/// <c>checkpoint-500/</c> …, <c>model_3.safetensors</c> …), in the order they were saved, and a tensor's value
/// distribution over them: one histogram per checkpoint, drawn like an event file's histogram tag (TensorBoard's
/// distributions and offset stack). The buckets share one set of edges over the whole series, so the checkpoints'
/// histograms line up; as in an event file's <c>histo</c>, each keeps only its buckets from its first to its last
/// non-empty one, with the outer edges at its own minimum and maximum.
/// </summary>
public static partial class CheckpointSeries
{
    static readonly string[] FileExtensions = [".ckpt", ".safetensors", ".pt", ".pth", ".bin"];
    const int Chunk = 1 << 16;

    [GeneratedRegex(@"(?:^|[^a-z])step[=_-]?(\d+)", RegexOptions.IgnoreCase)] private static partial Regex StepNumber();
    [GeneratedRegex(@"^checkpoint-(\d+)$", RegexOptions.IgnoreCase)] private static partial Regex TrainerFolder();
    [GeneratedRegex(@"\d+")] private static partial Regex Numbers();

    /// <summary>
    /// The checkpoints directly in <paramref name="folder"/>: weight files (.ckpt, .safetensors, .pt, .pth, .bin) and
    /// <c>checkpoint-N</c> folders, ordered by the numbers in their names (epoch=2 before epoch=10). The step is the
    /// number after <c>step</c> or <c>checkpoint-</c>, else the name's last number, else the position in the series.
    /// </summary>
    public static IReadOnlyList<SeriesCheckpoint> Find(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException($"{folder}: no such folder");
        var entries = Directory.EnumerateFiles(folder)
            .Where(f => FileExtensions.Contains(System.IO.Path.GetExtension(f), StringComparer.OrdinalIgnoreCase) && !f.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
            .Concat(Directory.EnumerateDirectories(folder).Where(d => TrainerFolder().IsMatch(System.IO.Path.GetFileName(d))))
            .Select(p => (Path: p, Name: System.IO.Path.GetFileName(p)))
            .OrderBy(e => e.Name, NaturalOrder.Instance)
            .ToList();
        var series = new List<SeriesCheckpoint>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var name = entries[i].Name;
            var m = StepNumber().Match(name) is { Success: true } s ? s : TrainerFolder().Match(name);
            long step = m.Success && long.TryParse(m.Groups[1].Value, out var v) ? v
                : Numbers().Matches(name) is { Count: > 0 } all && long.TryParse(all[^1].Value, out var last) ? last : i;
            series.Add(new SeriesCheckpoint(entries[i].Path, name, step));
        }
        return series;
    }

    /// <summary>The float tensors every checkpoint has with the same shape, in the first checkpoint's order.</summary>
    public static IReadOnlyList<SeriesTensor> CommonTensors(IReadOnlyList<ICheckpoint> checkpoints)
    {
        if (checkpoints.Count == 0) return [];
        return checkpoints[0].Tensors
            .Where(t => t.DType.IsReadableAsFloat() && t.ElementCount > 0
                && checkpoints.Skip(1).All(c => c.TryGet(t.Name, out var o) && o.Shape.SequenceEqual(t.Shape) && o.DType.IsReadableAsFloat()))
            .Select(t => new SeriesTensor(t.Name, t.Shape))
            .ToList();
    }

    /// <summary>
    /// Tensor <paramref name="name"/>'s histogram in each checkpoint over <paramref name="bins"/> buckets spanning the
    /// whole series' range (non-finite values are not counted). <see cref="HistogramStep.Step"/> is the checkpoint's
    /// step, <see cref="HistogramStep.WallTime"/> its file's last write (Unix seconds).
    /// </summary>
    public static IReadOnlyList<HistogramStep> Histograms(IReadOnlyList<ICheckpoint> checkpoints, IReadOnlyList<SeriesCheckpoint> series, string name, int bins,
        CancellationToken cancel = default)
    {
        if (checkpoints.Count != series.Count) throw new ArgumentException("one checkpoint per series entry");
        bins = Math.Clamp(bins, 2, 1024);
        var tensors = checkpoints.Select(c => c.TryGet(name, out var t) ? t : throw new CheckpointException($"{System.IO.Path.GetFileName(c.Path)} has no tensor `{name}`")).ToArray();
        for (int k = 1; k < tensors.Length; k++)
            if (!tensors[k].Shape.SequenceEqual(tensors[0].Shape))
                throw new CheckpointException($"`{name}` has shape {tensors[0].ShapeText} in {series[0].Name} and {tensors[k].ShapeText} in {series[k].Name}");

        // Pass 1: each checkpoint's range; pass 2: counts over the shared edges.
        var ranges = new (double Min, double Max)[checkpoints.Count];
        for (int k = 0; k < checkpoints.Count; k++)
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            Scan(checkpoints[k], tensors[k], v => { if (v < lo) lo = v; if (v > hi) hi = v; }, cancel);
            ranges[k] = (lo, hi);
        }
        double min = ranges.Min(r => r.Min), max = ranges.Max(r => r.Max);
        if (min > max) { min = 0; max = 1; }               // no finite value anywhere
        if (min == max) { min -= 0.5; max += 0.5; }
        double width = (max - min) / bins;

        var steps = new List<HistogramStep>(checkpoints.Count);
        for (int k = 0; k < checkpoints.Count; k++)
        {
            var counts = new double[bins];
            Scan(checkpoints[k], tensors[k], v => counts[Math.Clamp((int)((v - min) / width), 0, bins - 1)]++, cancel);
            int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
            double wallTime = new DateTimeOffset(File.Exists(series[k].Path) ? File.GetLastWriteTimeUtc(series[k].Path) : Directory.GetLastWriteTimeUtc(series[k].Path)).ToUnixTimeMilliseconds() / 1000.0;
            if (first < 0) { steps.Add(new HistogramStep(series[k].Step, wallTime, [], [], [])); continue; }
            int used = last - first + 1;
            var left = new double[used];
            var right = new double[used];
            for (int i = 0; i < used; i++)
            {
                left[i] = min + (first + i) * width;
                right[i] = min + (first + i + 1) * width;
            }
            left[0] = ranges[k].Min;
            right[^1] = ranges[k].Max;
            steps.Add(new HistogramStep(series[k].Step, wallTime, left, right, counts[first..(last + 1)]));
        }
        return steps;
    }

    /// <summary>Calls <paramref name="visit"/> with every finite value of the tensor, read in chunks.</summary>
    static void Scan(ICheckpoint checkpoint, TensorInfo tensor, Action<double> visit, CancellationToken cancel)
    {
        long n = tensor.ElementCount;
        var buffer = new float[(int)Math.Min(n, Chunk)];
        for (long start = 0; start < n; start += Chunk)
        {
            cancel.ThrowIfCancellationRequested();
            int len = (int)Math.Min(Chunk, n - start);
            checkpoint.ReadFloats(tensor, start, buffer.AsSpan(0, len));
            for (int i = 0; i < len; i++)
                if (float.IsFinite(buffer[i])) visit(buffer[i]);
        }
    }

    /// <summary>Names compared with their digit runs as numbers: epoch=2 before epoch=10.</summary>
    sealed class NaturalOrder : IComparer<string>
    {
        public static readonly NaturalOrder Instance = new();
        public int Compare(string? x, string? y)
        {
            var a = Numbers().Split(x!); var b = Numbers().Split(y!);
            var na = Numbers().Matches(x!); var nb = Numbers().Matches(y!);
            for (int i = 0; ; i++)
            {
                if (i >= a.Length || i >= b.Length) return a.Length.CompareTo(b.Length);
                int c = string.CompareOrdinal(a[i], b[i]);
                if (c != 0) return c;
                if (i >= na.Count || i >= nb.Count) return na.Count.CompareTo(nb.Count);
                string u = na[i].Value.TrimStart('0'), v = nb[i].Value.TrimStart('0');
                c = u.Length != v.Length ? u.Length.CompareTo(v.Length) : string.CompareOrdinal(u, v);
                if (c != 0) return c;
            }
        }
    }
}
