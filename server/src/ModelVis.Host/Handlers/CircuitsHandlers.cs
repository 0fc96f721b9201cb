using ModelVis.Analysis.Circuits;
using ModelVis.Host.Attention;
using ModelVis.Models;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary><c>probeBlock</c> set: score on the seeded repeated-block probe instead of the run's tokens.</summary>
public sealed record CircuitHeadsParams(string RunId, int? ProbeBlock = null, int Seed = 0, int Blocks = 4, double LabelThreshold = 0.4);
public sealed record CircuitHeadsResult(string Source, int Layers, int Heads, double[][] PreviousToken, double[][] Induction, double[][] DuplicateToken,
    string?[][] Labels, int[][]? ProbeIds);

public sealed record CircuitDlaParams(string RunId, int? Position = null, int? Target = null, int? Contrast = null);
/// <summary><c>CrossHeads</c>: T5's decoder cross-attention heads (null otherwise); <c>Residual</c> = logit − total; <c>Approximations</c>: what was frozen, in words.</summary>
public sealed record CircuitDlaResult(int Position, int Target, string TargetToken, int? Contrast, string? ContrastToken,
    double[][] Heads, double[][]? CrossHeads, double[] Mlp, double Embed, double Rest, double Logit, double Total, double Residual, double Scale,
    string[] Approximations);

/// <summary>The metric's two tokens by id (<c>target</c>, <c>contrast</c>) or as typed (<c>targetToken</c>, <c>contrastToken</c>: a token of
/// the vocabulary, text that tokenizes to one token, or an id); default: the runs' predictions.</summary>
public sealed record CircuitPatchParams(string RunId, string? CorruptText = null, int[]? CorruptIds = null, int? Target = null, int? Contrast = null,
    bool Heads = true, string? TargetToken = null, string? ContrastToken = null) : IValidatable
{
    public void Validate(string method)
    {
        if ((CorruptText is null) == (CorruptIds is null))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give exactly one of \"corruptText\" or \"corruptIds\"");
        if (Target is not null && TargetToken is not null)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give \"target\" or \"targetToken\", not both");
        if (Contrast is not null && ContrastToken is not null)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give \"contrast\" or \"contrastToken\", not both");
    }
}
public sealed record CircuitPatchResult(int TClean, string TCleanToken, int TCorrupt, string TCorruptToken, double Clean, double Corrupt,
    string[] Tokens, string[] CorruptTokens, double[][] Resid, double[][]? Heads);

/// <summary>
/// Circuits (issue 16) on an attention run: head detectors (from the run's own attention, or a seeded probe), direct
/// logit attribution at a position, and activation patching of the run (clean) against an edited prompt (corrupted).
/// Patching is L·n + L·H forward passes: it reports <c>$/progress</c> and stops at <c>$/cancelRequest</c>.
/// </summary>
public sealed class CircuitsHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<CircuitHeadsParams, CircuitHeadsResult>("circuits/heads", async (p, ctx) =>
        {
            var run = CircuitsRun(session, p.RunId);
            var model = run.Loaded.Model;
            int L = run.Config.Layers, H = run.Config.Heads;
            HeadDetectorScores scores;
            int[][]? probeIds = null;
            if (p.ProbeBlock is { } block)
            {
                probeIds = HeadDetectors.ProbeSequences(run.Config, block, p.Seed, p.Blocks);
                var progress = ctx.AsProgress("ModelVis: head detector probe");
                scores = await Task.Run(() => HeadDetectors.Probe(model, block, p.Seed, p.Blocks, progress, ctx.Cancellation), ctx.Cancellation);
                ctx.Progress("end");
            }
            else
            {
                // The run's attention, layer by layer as the panel already caches it: no new forward pass.
                var attention = new List<float[]>(L);
                for (int l = 0; l < L; l++) attention.Add(await run.LayerAsync(l, ctx.Cancellation));
                scores = HeadDetectors.Score(attention, H, run.Input.Ids);
            }
            var labels = Enumerable.Range(0, L).Select(l => Enumerable.Range(0, H).Select(h => scores.Label(l, h, p.LabelThreshold)).ToArray()).ToArray();
            return new CircuitHeadsResult(probeIds is null ? "selection" : "probe", L, H, scores.PreviousToken, scores.Induction, scores.DuplicateToken, labels, probeIds);
        }, RequestKind.Model);

        server.RegisterAsync<CircuitDlaParams, CircuitDlaResult>("circuits/dla", async (p, ctx) =>
        {
            // An encoder-decoder's run explains its decoder (the position is a decoder position), cross-attention heads apart.
            var run = session.Run(p.RunId);
            var r = await Task.Run(() => DirectLogitAttribution.Compute(run.Loaded.Model, run.Input, p.Position, p.Target, p.Contrast, ctx.Cancellation), ctx.Cancellation);
            return new CircuitDlaResult(r.Position, r.Target, run.Loaded.TokenText(r.Target), r.Contrast, r.Contrast is { } c ? run.Loaded.TokenText(c) : null,
                r.Heads, r.CrossHeads, r.Mlp, r.Embed, r.Rest, r.Logit, r.Total, r.Residual, r.Scale, r.Approximations);
        }, RequestKind.Model);

        server.RegisterAsync<CircuitPatchParams, CircuitPatchResult>("circuits/patch", async (p, ctx) =>
        {
            var run = CircuitsRun(session, p.RunId);
            var loaded = run.Loaded;
            var clean = run.Input.Ids;
            var corrupt = p.CorruptIds ?? loaded.RequireTokenizer().Encode(p.CorruptText!).Ids;
            if (corrupt.Length != clean.Length)
                throw new ModelException($"The edited prompt is {corrupt.Length} tokens and the selection {clean.Length}; patching needs the same number of tokens (change one word for another of the same length in tokens)");
            int? target = p.TargetToken is { } tt ? loaded.TypedToken(tt, "the clean answer") : p.Target;
            int? contrast = p.ContrastToken is { } ct ? loaded.TypedToken(ct, "the corrupted answer") : p.Contrast;
            var progress = ctx.AsProgress("ModelVis: activation patching");
            var result = await Task.Run(() =>
            {
                var patching = new ActivationPatching(loaded.Model, clean, corrupt, target, contrast, ctx.Cancellation);
                return patching.Sweep(resid: true, heads: p.Heads, progress, ctx.Cancellation);
            }, ctx.Cancellation);
            ctx.Progress("end");
            return new CircuitPatchResult(result.TClean, loaded.TokenText(result.TClean), result.TCorrupt, loaded.TokenText(result.TCorrupt),
                result.MetricClean, result.MetricCorrupted, clean.Select(id => loaded.TokenText(id)).ToArray(), corrupt.Select(id => loaded.TokenText(id)).ToArray(),
                result.Resid!, result.Heads);
        }, RequestKind.Model);
    }

    /// <summary>
    /// The run, when head detectors and patching apply to it: an encoder-decoder's (T5's) decoder layers read the encoder's
    /// output, which neither the probe nor a pass resumed at a layer has, so its runs are refused (-32001) rather than analysed wrongly.
    /// </summary>
    static AttentionRun CircuitsRun(Session session, string runId)
    {
        var run = session.Run(runId);
        if (run.IsEncoderDecoder)
            throw new ModelException($"{run.Config.ModelType} is an encoder-decoder: head detectors and patching support decoder-only models (logit attribution explains its decoder)");
        return run;
    }
}
