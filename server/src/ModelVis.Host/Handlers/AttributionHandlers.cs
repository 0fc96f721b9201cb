using ModelVis.Analysis.Attribution;
using ModelVis.Models;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary>
/// The target is the logit of <c>target</c> (an id) or <c>targetText</c> (text that is one token) at <c>position</c>,
/// minus that of <c>contrast</c> / <c>contrastText</c> when given; unset: the model's prediction at the last position.
/// </summary>
public sealed record AttributionRunParams(string RunId, string Method, int? Position = null, int? Target = null, string? TargetText = null,
    int? Contrast = null, string? ContrastText = null, int Steps = 64, string Baseline = "zero") : IValidatable
{
    public void Validate(string method)
    {
        if (Method is not ("saliency" or "ixg" or "ig" or "occlusion"))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"method\" is saliency, ixg, ig or occlusion, not \"{Method}\"");
        if (Baseline is not ("zero" or "token"))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"baseline\" is zero or token, not \"{Baseline}\"");
        if (Target is not null && TargetText is not null || Contrast is not null && ContrastText is not null)
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give a token as an id or as text, not both");
        if (Steps is < 1 or > 4096) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"steps\" is 1..4096");
    }
}

public sealed record AttributionCompleteness(int Steps, double Sum, double TargetValue, double BaselineValue, double Difference, double RelativeError);

public sealed record AttributionRunResult(string Method, int Position, int Target, string TargetToken, int? Contrast, string? ContrastToken,
    double Value, string[] Tokens, float[] Scores, AttributionCompleteness? Completeness, string? BaselineToken);

/// <summary>
/// Gradient attribution (issue 17) on an attention run: which of the run's tokens the logit of a target at a position
/// comes from, by saliency, input × gradient, integrated gradients (with its completeness) or occlusion
/// (README-interp.md section A). Integrated gradients and occlusion report <c>$/progress</c> and stop at <c>$/cancelRequest</c>.
/// </summary>
public sealed class AttributionHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<AttributionRunParams, AttributionRunResult>("attribution/run", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var loaded = run.Loaded;
            var input = run.Input;
            var method = AttributionMethods.Parse(p.Method);
            int? target = p.Target ?? (p.TargetText is { } tt ? loaded.TypedToken(tt, "the target") : null);
            int? contrast = p.Contrast ?? (p.ContrastText is { } ct ? loaded.TypedToken(ct, "the second token") : null);
            var tokenizer = loaded.Tokenizer;
            var baseline = Baseline.Parse(p.Baseline, loaded.Model.Config, tokenizer, input.Ids[0]);
            bool reports = method is AttributionMethod.IntegratedGradients or AttributionMethod.Occlusion;
            var progress = reports ? ctx.AsProgress($"ModelVis: {(method == AttributionMethod.Occlusion ? "occlusion" : "integrated gradients")}") : null;
            var result = await Task.Run(() =>
            {
                var t = AttributionTarget.Resolve(loaded.Model, input, p.Position, target, contrast, AttributionTarget.MaskTokenId(tokenizer), ctx.Cancellation);
                return TokenAttribution.Run(loaded.Differentiable, input, t, method, p.Steps, baseline,
                    progress is null ? null : (done, total) => progress.Report(((double)done / total, $"{done}/{total} passes")), ctx.Cancellation);
            }, ctx.Cancellation);
            if (progress is not null) ctx.Progress("end");
            var r = result.Target;
            var k = result.Completeness;
            return new AttributionRunResult(p.Method, r.Position, r.Target, loaded.TokenText(r.Target), r.Contrast, r.Contrast is { } c ? loaded.TokenText(c) : null,
                result.TargetValue, input.Ids.Select(id => loaded.TokenText(id)).ToArray(), result.Scores,
                k is null ? null : new AttributionCompleteness(k.Steps, k.SumOfAttributions, k.TargetValue, k.BaselineValue, k.Difference, k.RelativeError),
                method == AttributionMethod.IntegratedGradients && baseline.TokenId is { } b ? loaded.TokenText(b) : null);
        });
    }
}
