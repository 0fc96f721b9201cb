using ModelVis.Checkpoints;

namespace ModelVis.Runs;

/// <summary>One tensor present in both checkpoints with the same shape: ‖A−B‖₂/‖A‖₂ and max |A−B|.</summary>
public sealed record TensorChange(string Name, long[] Shape, double RelChange, double MaxAbsDiff, double NormA, double NormB);

/// <summary>The per-tensor comparison of two checkpoints, and what could not be compared.</summary>
public sealed record CheckpointComparison(
    string A, string B,
    IReadOnlyList<TensorChange> Tensors,
    IReadOnlyList<string> OnlyInA,
    IReadOnlyList<string> OnlyInB,
    IReadOnlyList<string> NotCompared,
    IReadOnlyList<string> Notes);

/// <summary>
/// Two checkpoints of one model compared tensor by tensor (any two that <see cref="CheckpointLoader"/> opens: two
/// folders, two files, two Lightning <c>.ckpt</c> of one run). Tensors are streamed in chunks and widened to float;
/// sums are kept in double. Lightning checkpoints hold the weights under <c>state_dict</c>; the optimizer state beside
/// them is not weights, is not compared, and a note says so.
/// </summary>
public static class CheckpointCompare
{
    const int Chunk = 1 << 16;

    public static CheckpointComparison Compare(string pathA, string pathB, CancellationToken cancel = default)
    {
        using var a = CheckpointLoader.Open(pathA);
        using var b = CheckpointLoader.Open(pathB);
        return Compare(a, b, cancel);
    }

    public static CheckpointComparison Compare(ICheckpoint a, ICheckpoint b, CancellationToken cancel = default)
    {
        var notes = new List<string>();
        foreach (var c in new[] { a, b }) if (IgnoredNote(c) is { } note) notes.Add(note);
        var changes = new List<TensorChange>();
        var notCompared = new List<string>();
        var onlyInA = new List<string>();
        foreach (var ta in a.Tensors)
        {
            cancel.ThrowIfCancellationRequested();
            if (!b.TryGet(ta.Name, out var tb)) { onlyInA.Add(ta.Name); continue; }
            if (!ta.Shape.SequenceEqual(tb.Shape))
            {
                notCompared.Add($"{ta.Name}: shape {ta.ShapeText} in A, {tb.ShapeText} in B");
                continue;
            }
            if (!ta.DType.IsReadableAsFloat() || !tb.DType.IsReadableAsFloat())
            {
                notCompared.Add($"{ta.Name}: dtype {ta.DType.Name()} / {tb.DType.Name()} (floating-point tensors are compared)");
                continue;
            }
            changes.Add(CompareTensor(a, ta, b, tb, cancel));
        }
        var onlyInB = b.Tensors.Where(t => !a.TryGet(t.Name, out _)).Select(t => t.Name).ToList();
        // Largest change first; NaN (a tensor with NaN values) last; ties in file order.
        var sorted = changes
            .Select((c, i) => (c, i))
            .OrderByDescending(x => double.IsNaN(x.c.RelChange) ? double.NegativeInfinity : x.c.RelChange)
            .ThenBy(x => x.i)
            .Select(x => x.c).ToList();
        return new CheckpointComparison(a.Path, b.Path, sorted, onlyInA, onlyInB, notCompared, notes);
    }

    static string? IgnoredNote(ICheckpoint c) => c is PyTorchCheckpoint { WeightsKey: "state_dict" } pt
        ? $"{System.IO.Path.GetFileName(pt.Path)}: weights read from `state_dict`; the optimizer state and other training state beside it are ignored"
          + (pt.IgnoredObjects.Count > 0 ? $" (pickled objects not loaded: {string.Join(", ", pt.IgnoredObjects.Distinct().Take(5))})" : "")
        : null;

    static TensorChange CompareTensor(ICheckpoint a, TensorInfo ta, ICheckpoint b, TensorInfo tb, CancellationToken cancel)
    {
        long n = ta.ElementCount;
        var bufA = new float[(int)Math.Min(n, Chunk)];
        var bufB = new float[bufA.Length];
        double sumA = 0, sumB = 0, sumD = 0, maxAbs = 0;
        for (long start = 0; start < n; start += Chunk)
        {
            cancel.ThrowIfCancellationRequested();
            int len = (int)Math.Min(Chunk, n - start);
            a.ReadFloats(ta, start, bufA.AsSpan(0, len));
            b.ReadFloats(tb, start, bufB.AsSpan(0, len));
            for (int i = 0; i < len; i++)
            {
                double x = bufA[i], y = bufB[i], d = x - y;
                sumA += x * x;
                sumB += y * y;
                sumD += d * d;
                double ad = Math.Abs(d);
                if (ad > maxAbs || double.IsNaN(ad)) maxAbs = ad;
            }
        }
        double normA = Math.Sqrt(sumA), normD = Math.Sqrt(sumD);
        double rel = normA > 0 ? normD / normA : normD == 0 ? 0 : double.PositiveInfinity;
        return new TensorChange(ta.Name, ta.Shape, rel, maxAbs, normA, Math.Sqrt(sumB));
    }

    /// <summary>Reads elements [start, start+dst.Length) of A−B for one tensor (for the difference heatmap).</summary>
    public static void ReadDifference(ICheckpoint a, ICheckpoint b, string name, long start, Span<float> destination)
    {
        var ta = a.Get(name);
        var tb = b.Get(name);
        if (!ta.Shape.SequenceEqual(tb.Shape))
            throw new CheckpointException($"`{name}` has shape {ta.ShapeText} in A and {tb.ShapeText} in B");
        var other = new float[destination.Length];
        a.ReadFloats(ta, start, destination);
        b.ReadFloats(tb, start, other);
        for (int i = 0; i < destination.Length; i++) destination[i] -= other[i];
    }

    /// <summary>Histograms of one tensor in A and B over shared bucket edges (so they overlay).</summary>
    public static (double[] Edges, long[] CountsA, long[] CountsB) Histograms(ICheckpoint a, ICheckpoint b, string name, int bins)
    {
        bins = Math.Clamp(bins, 2, 1024);
        var xa = a.ReadFloats(a.Get(name));
        var xb = b.ReadFloats(b.Get(name));
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in xa.Concat(xb))
            if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) { lo = 0; hi = 1; }
        if (lo == hi) { lo -= 0.5; hi += 0.5; }
        var edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) edges[i] = lo + (hi - lo) * i / bins;
        return (edges, Count(xa), Count(xb));

        long[] Count(float[] xs)
        {
            var counts = new long[bins];
            foreach (var v in xs)
            {
                if (!float.IsFinite(v)) continue;
                int k = (int)((v - lo) / (hi - lo) * bins);
                counts[Math.Clamp(k, 0, bins - 1)]++;
            }
            return counts;
        }
    }
}
