using ModelVis.Checkpoints;
using ModelVis.Host.Browser;
using ModelVis.Render;
using ModelVis.Rpc;
using ModelVis.Runs;

namespace ModelVis.Host.Handlers;

public sealed record RunsDiscoverParams(string[]? WorkspaceFolders, string[]? Roots, int MaxDepth = 8);
public sealed record RunsDiscoverResult(List<RunEntry> Runs);

public sealed record RunPathParams(string Path) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrWhiteSpace(Path)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"path\" is required (a run folder, or an event file, .csv or .jsonl log)");
        if (!System.IO.Path.IsPathFullyQualified(Path)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"path\" must be absolute, got \"{Path}\"");
    }
}

/// <summary><c>cursor</c>: what the previous answer for this run returned; with it only points added since come back.</summary>
public sealed record RunScalarsParams(string Path, RunCursor? Cursor = null) : IValidatable
{
    public void Validate(string method) => new RunPathParams(Path).Validate(method);
}

/// <summary>One tag's points. <c>wallTimes</c> entries are null where the log has no time; values may be "NaN"/"Infinity".</summary>
public sealed record ScalarSeriesDto(long[] Steps, double[] Values, double?[] WallTimes);
public sealed record HistogramTagDto(string Tag, int Count);
public sealed record RecordProblemDto(string File, long Offset, string Message);

public sealed record RunScalarsResult(
    string Path,
    Dictionary<string, ScalarSeriesDto> Tags,
    List<HistogramTagDto> Histograms,
    List<RecordProblemDto> Problems,
    List<string> Notes,
    RunCursor Cursor,
    List<string> Reset);

/// <summary>One tag of a run without its points (for the Runs view's rows): how many, and the first and last value.</summary>
public sealed record RunTagDto(string Tag, string Kind, int Count, long? FirstStep, long? LastStep, double? Last);
public sealed record RunTagsResult(string Path, List<RunTagDto> Tags, int Problems, List<string> Notes);

public sealed record RunHistogramsParams(string Path, string Tag) : IValidatable
{
    public void Validate(string method)
    {
        new RunPathParams(Path).Validate(method);
        if (string.IsNullOrEmpty(Tag)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"tag\" is required (a histogram tag of the run)");
    }
}

/// <summary>One histogram: buckets (left, right, count) and the values at <c>basisPoints</c> percentiles.</summary>
public sealed record HistogramStepDto(long Step, double? WallTime, double[] Left, double[] Right, double[] Counts, double[] Percentiles);
public sealed record RunHistogramsResult(string Tag, int[] BasisPoints, List<HistogramStepDto> Steps);

public sealed record CompareParams(string A, string B) : IValidatable
{
    public void Validate(string method)
    {
        new ModelPathParams(A).Validate(method + " (a)");
        new ModelPathParams(B).Validate(method + " (b)");
    }
}

public sealed record CompareDiffParams(string A, string B, string Tensor, int Bins = 64, int MaxSize = 512) : IValidatable
{
    public void Validate(string method)
    {
        new CompareParams(A, B).Validate(method);
        if (string.IsNullOrEmpty(Tensor)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"tensor\" is required");
    }
}

/// <summary><c>path</c>: a folder of checkpoints of one run; <c>tensor</c>: whose histograms (default: the first common tensor).</summary>
public sealed record SeriesParams(string Path, string? Tensor = null, int Bins = 30) : IValidatable
{
    public void Validate(string method) => new ModelPathParams(Path).Validate(method);
}

/// <summary>The series' checkpoints in order, the tensors they share, and one tensor's histogram per checkpoint (as <c>runs/histograms</c>).</summary>
public sealed record SeriesResult(string Path, List<SeriesCheckpoint> Checkpoints, List<SeriesTensor> Tensors, string Tensor, int[] BasisPoints,
    List<HistogramStepDto> Steps, List<string> Notes);

public sealed record OverlaidHistogramsDto(double[] Edges, long[] CountsA, long[] CountsB);
public sealed record CompareDiffResult(string Name, long[] Shape, TensorImageDto Difference, OverlaidHistogramsDto Histograms);

/// <summary>
/// Training runs and checkpoints compared: <c>runs/discover</c> (folders with event files or logs),
/// <c>runs/scalars</c> (every scalar tag of a run; with a cursor, only what the files gained since),
/// <c>runs/tags</c> (the tags with their counts, without the points),
/// <c>runs/histograms</c> (one histogram tag over steps, with TensorBoard's percentile bands),
/// <c>checkpoints/compare</c> (per tensor ‖A−B‖/‖A‖, largest first) and <c>checkpoints/diff</c>
/// (one tensor's A−B heatmap and the two histograms overlaid), <c>checkpoints/series</c> (a folder of checkpoints of
/// one run: a tensor's histogram over them, drawn like an event file's histogram tag).
/// </summary>
public sealed class RunsHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.Register<RunsDiscoverParams, RunsDiscoverResult>("runs/discover", (p, ctx) =>
        {
            var roots = (p.WorkspaceFolders ?? []).Concat(p.Roots ?? []).Where(r => Path.IsPathFullyQualified(r));
            return new RunsDiscoverResult(RunDiscovery.Find(roots, Math.Clamp(p.MaxDepth, 0, 32), cancel: ctx.Cancellation));
        });

        server.Register<RunScalarsParams, RunScalarsResult>("runs/scalars", (p, ctx) =>
        {
            List<string> reset = [];
            var run = p.Cursor is { } cursor ? RunReader.ReadOn(p.Path, cursor, out reset, ctx.Cancellation) : RunReader.Read(p.Path, ctx.Cancellation);
            var tags = new Dictionary<string, ScalarSeriesDto>(StringComparer.Ordinal);
            foreach (var s in run.Scalars.Values)
                tags[s.Tag] = new ScalarSeriesDto(s.Steps.ToArray(), s.Values.ToArray(), s.WallTimes.Select(w => double.IsNaN(w) ? (double?)null : w).ToArray());
            return new RunScalarsResult(p.Path, tags,
                run.Histograms.Values.Select(h => new HistogramTagDto(h.Tag, h.Steps.Count)).ToList(),
                run.Problems.Select(x => new RecordProblemDto(x.File, x.Offset, x.Message)).ToList(),
                run.Notes, run.Cursor, reset);
        });

        server.Register<RunPathParams, RunTagsResult>("runs/tags", (p, ctx) =>
        {
            var run = RunReader.Read(p.Path, ctx.Cancellation);
            var tags = run.Scalars.Values
                .Select(s => new RunTagDto(s.Tag, "scalar", s.Count, s.Count > 0 ? s.Steps[0] : null, s.Count > 0 ? s.Steps[^1] : null, s.Count > 0 ? s.Values[^1] : null))
                .Concat(run.Histograms.Values.Select(h => new RunTagDto(h.Tag, "histogram", h.Steps.Count,
                    h.Steps.Count > 0 ? h.Steps[0].Step : null, h.Steps.Count > 0 ? h.Steps[^1].Step : null, null)))
                .ToList();
            return new RunTagsResult(p.Path, tags, run.Problems.Count, run.Notes);
        });

        server.Register<RunHistogramsParams, RunHistogramsResult>("runs/histograms", (p, ctx) =>
        {
            var run = RunReader.Read(p.Path, ctx.Cancellation);
            if (!run.Histograms.TryGetValue(p.Tag, out var series))
                throw new RunFormatException($"{Path.GetFileName(p.Path)}: no histogram tag `{p.Tag}`" +
                    (run.Histograms.Count > 0 ? $" (histogram tags: {string.Join(", ", run.Histograms.Keys.Take(10))})" : " (the run has no histograms)"));
            return new RunHistogramsResult(p.Tag, HistogramPercentiles.BasisPoints,
                series.Steps.Select(h => new HistogramStepDto(h.Step, double.IsNaN(h.WallTime) ? null : h.WallTime,
                    h.Left, h.Right, h.Counts, HistogramPercentiles.Compute(h))).ToList());
        });

        server.Register<CompareParams, CheckpointComparison>("checkpoints/compare", (p, ctx) =>
            CheckpointCompare.Compare(session.Checkpoint(p.A), session.Checkpoint(p.B), ctx.Cancellation), RequestKind.Model);

        server.Register<CompareDiffParams, CompareDiffResult>("checkpoints/diff", (p, _) =>
        {
            var a = session.Checkpoint(p.A);
            var b = session.Checkpoint(p.B);
            var ta = a.Get(p.Tensor);
            if (ta.ElementCount == 0) throw new CheckpointException($"`{p.Tensor}` has no values");
            var options = new TensorImageOptions { MaxSize = Math.Clamp(p.MaxSize, 16, 4096), Colormap = "rdbu" };
            var image = TensorImageLayout.Render((start, dst) => CheckpointCompare.ReadDifference(a, b, p.Tensor, start, dst), ta.Shape, options);
            var g = image.Grid;
            var dto = new TensorImageDto(ta.Name + " (A−B)", image.PngBase64, image.Width, image.Height, image.Layout, image.Shape,
                new ImageSource(image.SourceRows, image.SourceCols),
                image.Downsampled ? new ImageDownsample(image.RowFactor, image.ColFactor, image.MethodName) : null,
                g is null ? null : new ImageGrid(g.Slices, g.Shown, g.GridRows, g.GridCols, g.SliceRows, g.SliceCols, g.CellWidth, g.CellHeight, g.Gap),
                new ImageScale(image.Scale.Min, image.Scale.Max, image.Scale.Low, image.Scale.High, image.Scale.Limit, image.Scale.Colormap),
                image.Note);
            var (edges, countsA, countsB) = CheckpointCompare.Histograms(a, b, p.Tensor, p.Bins);
            return new CompareDiffResult(ta.Name, ta.Shape, dto, new OverlaidHistogramsDto(edges, countsA, countsB));
        }, RequestKind.Model);

        server.Register<SeriesParams, SeriesResult>("checkpoints/series", (p, ctx) =>
        {
            var series = CheckpointSeries.Find(p.Path);
            if (series.Count < 2)
                throw new CheckpointException($"{p.Path}: {series.Count} checkpoint{(series.Count == 1 ? "" : "s")} (.ckpt, .safetensors, .pt, .pth, .bin or checkpoint-N folders); a series needs two or more");
            var checkpoints = series.Select(c => session.Checkpoint(c.Path)).ToList();
            var tensors = CheckpointSeries.CommonTensors(checkpoints);
            var name = p.Tensor ?? tensors.FirstOrDefault()?.Name
                ?? throw new CheckpointException($"{p.Path}: no floating-point tensor is in every checkpoint with the same shape");
            var steps = CheckpointSeries.Histograms(checkpoints, series, name, p.Bins, ctx.Cancellation);
            var notes = checkpoints.Select(c => c is PyTorchCheckpoint { WeightsKey: "state_dict" } ? $"{Path.GetFileName(c.Path)}: weights from `state_dict`; optimizer state ignored" : null)
                .OfType<string>().ToList();
            return new SeriesResult(p.Path, series.ToList(), tensors.ToList(), name, HistogramPercentiles.BasisPoints,
                steps.Select(h => new HistogramStepDto(h.Step, h.WallTime, h.Left, h.Right, h.Counts, HistogramPercentiles.Compute(h))).ToList(), notes);
        }, RequestKind.Model);
    }
}
