using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelVis.Rpc;
using ModelVis.Training;
using ModelVis.Training.Data;

namespace ModelVis.Host.Handlers;

public sealed record BuiltinStatusResult(bool Ready, string Folder, string TrainedRoot);

/// <summary>What a training run did (the loss history travels live as <c>train/loss</c>, and is saved in modelvis_training.json).</summary>
public sealed record TrainSummary(int Steps, long Parameters, int CorpusTokens, double FinalTrainLoss, double EvalLoss, double UnigramEntropy, double Seconds)
{
    public static TrainSummary From(TrainResult r) =>
        new(r.Steps, r.Parameters, r.CorpusTokens, r.FinalTrainLoss, r.EvalLoss, r.UnigramEntropy, r.Seconds);
}

public sealed record BuiltinEnsureResult(string Folder, bool Trained, TrainSummary? Result);
public sealed record TrainStartResult(string Folder, TrainSummary Result);

public sealed record TrainStartParams(string[]? Files, string[]? Texts, string? Out = null, int? Steps = null, int? Seed = null, string? Name = null) : IValidatable
{
    public const int MaxSteps = 100_000;

    public void Validate(string method)
    {
        bool hasFiles = Files is { Length: > 0 }, hasTexts = Texts is { Length: > 0 };
        if (hasFiles == hasTexts)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give either \"files\" (absolute paths) or \"texts\", not {(hasFiles ? "both" : "neither")}");
        if (hasFiles && Files!.FirstOrDefault(f => string.IsNullOrWhiteSpace(f) || !Path.IsPathFullyQualified(f)) is { } bad)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: every file must be an absolute path, got \"{bad}\"");
        if (Out != null && !Path.IsPathFullyQualified(Out))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"out\" must be an absolute path, got \"{Out}\"");
        if (Steps is < 1 or > MaxSteps)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"steps\" must be between 1 and {MaxSteps}");
    }
}

/// <summary>
/// The built-in model and training on the user's text. <c>builtin/status</c> answers at once; <c>builtin/ensure</c>
/// trains the built-in model if the cache lacks it; <c>train/start</c> trains the same recipe on files or texts.
/// Both training requests report <c>$/progress</c>, send <c>train/loss</c> per optimizer step (for the live loss
/// curve) and stop on <c>$/cancelRequest</c>. They train into a temporary sibling folder and rename it into place,
/// so a cancelled or failed run leaves nothing a loader could mistake for a model.
/// </summary>
public sealed class TrainingHandlers : IHandlerFamily
{
    /// <summary>One training at a time: two would share 2 cores and the built-in one its temporary folder.</summary>
    readonly SemaphoreSlim _training = new(1, 1);

    /// <summary>Where <c>train/start</c> puts models when no <c>out</c> is given (the extension adds it to discovery).</summary>
    public static string TrainedRoot() => Path.Combine(BuiltinModel.CacheRoot(), "trained");

    public void Register(RpcServer server, Session session)
    {
        server.Register<JsonElement?, BuiltinStatusResult>("builtin/status", (_, _) =>
            new BuiltinStatusResult(BuiltinModel.IsReady(), BuiltinModel.Folder(), TrainedRoot()));

        server.RegisterAsync<JsonElement?, BuiltinEnsureResult>("builtin/ensure", async (_, ctx) =>
        {
            var folder = BuiltinModel.Folder();
            if (BuiltinModel.IsReady()) return new BuiltinEnsureResult(folder, false, null);
            await _training.WaitAsync(ctx.Cancellation);
            try
            {
                // Another request may have trained it while this one waited.
                if (BuiltinModel.IsReady()) return new BuiltinEnsureResult(folder, false, null);
                var steps = TrainOptions.BuiltinDefault.Steps;
                var progress = Reporter(ctx, "ModelVis: training the built-in model");
                await Task.Run(() => BuiltinModel.Ensure(progress, ctx.Cancellation, LossNotifier(server, folder, steps)), ctx.Cancellation);
                ctx.Progress("end", "built-in model ready");
                return new BuiltinEnsureResult(folder, true, ReadSummary(folder));
            }
            finally { _training.Release(); }
        }, RequestKind.Training);

        server.RegisterAsync<TrainStartParams, TrainStartResult>("train/start", async (p, ctx) =>
        {
            var texts = p.Files is { Length: > 0 } ? Corpus.FromPaths(p.Files) : p.Texts!;
            var options = TrainOptions.BuiltinDefault with
            {
                Steps = p.Steps ?? TrainOptions.BuiltinDefault.Steps,
                Seed = p.Seed ?? BuiltinModel.DefaultSeed,
            };
            options.Validate();
            var outDir = Path.GetFullPath(p.Out ?? DefaultOut(p, texts, options));
            CheckReplaceable(outDir);
            await _training.WaitAsync(ctx.Cancellation);
            try
            {
                var progress = Reporter(ctx, $"ModelVis: training {Path.GetFileName(outDir)}");
                var tmp = outDir + ".partial-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    var trained = await Task.Run(() => Trainer.Train(texts, options, tmp, progress, ctx.Cancellation, LossNotifier(server, outDir, options.Steps)), ctx.Cancellation);
                    if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
                    Directory.Move(tmp, outDir);
                    session.Forget(outDir);  // a model trained again into the same folder must be reopened
                    ctx.Progress("end", "done");
                    return new TrainStartResult(outDir, TrainSummary.From(trained.Result));
                }
                finally
                {
                    if (Directory.Exists(tmp)) try { Directory.Delete(tmp, true); } catch (IOException) { }
                }
            }
            finally { _training.Release(); }
        }, RequestKind.Training);
    }

    /// <summary>$/progress from the trainer's (fraction, message), reported synchronously so reports stay in order.</summary>
    static IProgress<(double Fraction, string Message)> Reporter(RequestContext ctx, string title)
    {
        ctx.Progress("begin", title: title, percentage: 0);
        return new SyncProgress(p => ctx.Progress("report", Readable(p.Message), (int)Math.Round(p.Fraction * 100)));
    }

    /// <summary>"step 120/600 loss 2.310" reads as "step 120/600, loss 2.31".</summary>
    internal static string Readable(string message)
    {
        const string marker = " loss ";
        int at = message.IndexOf(marker, StringComparison.Ordinal);
        if (!message.StartsWith("step ", StringComparison.Ordinal) || at < 0) return message;
        var tail = message[(at + marker.Length)..];
        return double.TryParse(tail, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var loss)
            ? $"{message[..at]}, loss {loss.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}"
            : message;
    }

    static Action<LossPoint> LossNotifier(RpcServer server, string run, int steps) => point =>
        _ = server.NotifyAsync("train/loss", new { run, step = point.Step, steps, loss = point.Loss, learningRate = point.LearningRate });

    /// <summary>trained/&lt;name, first file's stem or "text"&gt;-&lt;hash of the corpus, steps and seed&gt;: the same request gives the same folder.</summary>
    static string DefaultOut(TrainStartParams p, IReadOnlyList<string> texts, TrainOptions options)
    {
        var stem = !string.IsNullOrWhiteSpace(p.Name) ? p.Name.Trim()
            : p.Files is { Length: > 0 } ? Path.GetFileNameWithoutExtension(p.Files[0].TrimEnd('/', '\\')) : "text";
        stem = new string(stem.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        if (stem.Length == 0) stem = "text";
        if (stem.Length > 40) stem = stem[..40];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in texts) { sha.AppendData(Encoding.UTF8.GetBytes(t)); sha.AppendData([0]); }
        sha.AppendData(Encoding.UTF8.GetBytes($"steps={options.Steps};seed={options.Seed};v={BuiltinModel.Version}"));
        var hash = Convert.ToHexStringLower(sha.GetHashAndReset())[..10];
        return Path.Combine(TrainedRoot(), $"{stem}-{hash}");
    }

    /// <summary>Only an empty folder or one ModelVis trained may be replaced: never a folder of the user's.</summary>
    static void CheckReplaceable(string outDir)
    {
        if (File.Exists(outDir)) throw new TrainingException($"`{outDir}` is a file; choose a folder to save the trained model in");
        if (!Directory.Exists(outDir) || !Directory.EnumerateFileSystemEntries(outDir).Any()) return;
        if (!File.Exists(Path.Combine(outDir, Trainer.TrainingLogFile)))
            throw new TrainingException($"`{outDir}` already holds files that ModelVis did not train; choose an empty or new folder");
    }

    /// <summary>The summary of a finished run, from the log the trainer writes beside the weights.</summary>
    static TrainSummary? ReadSummary(string folder)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, Trainer.TrainingLogFile)));
            var r = doc.RootElement;
            double D(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            int steps = r.TryGetProperty("options", out var o) && o.TryGetProperty("steps", out var s) ? s.GetInt32() : 0;
            return new TrainSummary(steps, (long)D("parameters"), (int)D("corpusTokens"), D("finalTrainLoss"), D("evalLoss"), D("unigramEntropy"), D("seconds"));
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or FormatException) { return null; }
    }

    sealed class SyncProgress(Action<(double Fraction, string Message)> report) : IProgress<(double Fraction, string Message)>
    {
        public void Report((double Fraction, string Message) value) => report(value);
    }
}
