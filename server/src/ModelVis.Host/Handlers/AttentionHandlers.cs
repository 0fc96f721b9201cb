using System.Text.Json;
using System.Text.Json.Nodes;
using ModelVis.Analysis;
using ModelVis.Host.Attention;
using ModelVis.Models;
using ModelVis.Render;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <param name="Target">An encoder-decoder's decoder text (the target); null or empty = the model's own greedy output for the text.</param>
public sealed record AttentionRunParams(string Model, string Text, int? MaxTokens = null, string? Target = null) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrWhiteSpace(Model))
            throw new RpcException(RpcErrorCodes.UserError, "No model is configured: choose a model folder (setting modelvis.model, or \"Use for visualization\" in the Models view)");
        if (!Path.IsPathFullyQualified(Model)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"model\" must be an absolute path, got \"{Model}\"");
        if (Text is null) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"text\" is required");
        if (MaxTokens is < 1) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"maxTokens\" must be at least 1");
    }
}

/// <param name="EncoderLayers">An encoder-decoder's encoder depth (Layers is then the decoder's); 0 otherwise.</param>
public sealed record RunModelInfo(string Path, string Name, string ModelType, int Layers, int Heads, bool Causal, int MaxPositions, int EncoderLayers = 0);

/// <param name="Target">An encoder-decoder's target: its text, its tokens (decoder_input_ids, the start token first) and
/// whether it is the model's own greedy output.</param>
public sealed record AttentionRunResult(string RunId, RunModelInfo Model, int N, int? TruncatedFrom, RunToken[] Tokens, RunTarget? Target = null);
public sealed record RunTarget(string Text, RunToken[] Tokens, bool Greedy);

/// <param name="Kind">Which attention of an encoder-decoder run: encoder, decoder (the default) or cross; decoder-only runs have only self.</param>
public sealed record RunParams(string RunId, int Layer = 0, JsonElement? Head = null, int MaxSize = 1024, int Query = 0, int Top = 5,
    int Cell = 48, string Method = "rollout", string? Kind = null)
{
    public HeadSelector Selector => Head is { } h ? HeadSelector.Parse(h) : new HeadSelector(0, null);
}

/// <summary>One head's matrix [Rows, Cols] (N = Cols; square for self-attention), its values when small enough.</summary>
public sealed record MatrixResult(int N, string? Values, float Max, int Rows, int Cols);
public sealed record KeyWeight(int Key, float Weight);
public sealed record RowResult(int Query, float[] Weights, KeyWeight[] Top, MatrixImage? AcrossLayers);
public sealed record GridCell(int Layer, int Head, int X, int Y, int Width, int Height);
public sealed record GridResult(string Png, int Width, int Height, int Layers, int Heads, GridCell[] Cells, string Note);
public sealed record RolloutResult(int N, string? Values, MatrixImage Image, string Method, string Note);

/// <summary>
/// The attention panel's requests. <c>attention/run</c> tokenizes the text, starts the forward pass and answers as
/// soon as layer 0 is drawable; the rest of the layers stream in (<c>attention/layerDone</c> notifications), and
/// every other request reads the run the host keeps, so changing layer or head never re-runs the model.
/// </summary>
public sealed class AttentionHandlers : IHandlerFamily
{
    /// <summary>Matrices up to this many tokens travel as numbers (for hover read-outs); larger ones as pictures only.</summary>
    public const int MaxMatrixTokens = 512;

    /// <summary>How long the greedy target of an encoder-decoder run may be (tokens after the start token).</summary>
    public const int MaxGreedyTarget = 48;

    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<AttentionRunParams, AttentionRunResult>("attention/run", async (p, ctx) =>
        {
            ctx.Progress("begin", title: "ModelVis: loading model");
            var loaded = session.Model(p.Model);
            var config = loaded.Model.Config;
            int limit = config.MaxPositions;
            // The limit is enforced while tokenizing: a 30 MB selection is tokenized only as far as the bound, not whole
            // (9 GB) before the check. Past the bound the exact count is unknown: the result says "more than".
            int bound = Math.Min(limit, p.MaxTokens ?? int.MaxValue);
            var encoding = loaded.RequireTokenizer().Encode(p.Text, addSpecialTokens: true, maxTokens: bound);
            int n = encoding.Count;
            if (n == 0) throw new ModelException("Nothing to visualize: the selection gives no tokens");
            int? truncatedFrom = null;
            int keep = Math.Min(n, p.MaxTokens ?? int.MaxValue);
            if (keep > limit || (encoding.Truncated && p.MaxTokens is null))
                throw new RpcException(RpcErrorCodes.UserError,
                    $"The selection is {(encoding.Truncated ? $"more than {limit:N0}" : $"{n:N0}")} tokens but {loaded.Name} reads at most {limit:N0}. Select less text, or use the first {limit:N0} tokens.",
                    new JsonObject { ["tokens"] = n, ["limit"] = limit, ["atLeast"] = encoding.Truncated });
            if (keep < n) truncatedFrom = n;

            var tokenizer = loaded.Tokenizer!;
            var tokens = new RunToken[keep];
            for (int i = 0; i < keep; i++)
            {
                var raw = encoding.Tokens[i];
                var span = encoding.Offsets[i];
                tokens[i] = new RunToken(encoding.Ids[i], raw, tokenizer.Readable(raw), span?.Start, span?.End, encoding.IsSpecial[i]);
            }
            var input = new ForwardInput(encoding.Ids[..keep]);
            RunTarget? target = null;
            if (config.IsEncoderDecoder)
            {
                ctx.Progress("report", string.IsNullOrEmpty(p.Target) ? "translating the selection (greedy) for the target" : "tokenizing the target", 0);
                (input, target) = WithTarget(loaded.Model, tokenizer, input, p.Target, ctx.Cancellation);
            }
            var run = session.AddRun(id => new AttentionRun(id, loaded, input, tokens, session.AttentionCacheBytes, target?.Tokens));
            ctx.Progress("report", $"running {config.Layers} layers over {keep:N0} tokens", 0);
            run.Start(layer =>
            {
                _ = server.NotifyAsync("attention/layerDone", new { runId = run.Id, layer, layers = config.Layers });
                ctx.Progress("report", $"layer {layer + 1} of {config.Layers}", (int)(100.0 * (layer + 1) / config.Layers));
            });
            try { await run.WaitForLayerAsync(0, ctx.Cancellation); }
            catch { session.Release(run.Id); throw; }   // cancelled or failed: the run is not kept
            ctx.Progress("end");
            var info = new RunModelInfo(loaded.Folder, loaded.Name, config.ModelType, config.Layers, config.Heads, config.IsCausal, limit, config.EncoderLayers);
            return new AttentionRunResult(run.Id, info, keep, truncatedFrom, tokens, target);
        }, RequestKind.Model);

        server.RegisterAsync<RunParams, MatrixResult>("attention/matrix", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var (rows, cols) = run.Shape(p.Kind);
            var m = await run.HeadAsync(p.Layer, p.Selector, ctx.Cancellation, p.Kind);
            return new MatrixResult(cols, Math.Max(rows, cols) <= MaxMatrixTokens ? AttentionViews.Base64(m) : null, AttentionViews.Max(m), rows, cols);
        });

        server.RegisterAsync<RunParams, MatrixImage>("attention/image", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var (rows, cols) = run.Shape(p.Kind);
            var m = await run.HeadAsync(p.Layer, p.Selector, ctx.Cancellation, p.Kind);
            return AttentionViews.Image(m, rows, cols, Math.Clamp(p.MaxSize, 16, 4096), AttentionViews.Colormap);
        });

        server.RegisterAsync<RunParams, RowResult>("attention/row", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var (queries, n) = run.Shape(p.Kind);
            if ((uint)p.Query >= (uint)queries) throw new ModelException($"token {p.Query} is outside the run's {queries} query tokens");
            var m = await run.HeadAsync(p.Layer, p.Selector, ctx.Cancellation, p.Kind);
            var weights = m.AsSpan(p.Query * n, n).ToArray();
            var top = weights.Select((w, k) => new KeyWeight(k, w)).OrderByDescending(kw => kw.Weight).ThenBy(kw => kw.Key).Take(Math.Clamp(p.Top, 1, 50)).ToArray();
            // The same query's row in every layer (mean over heads): where it looks, layer by layer.
            MatrixImage? across = null;
            if (n <= 1024)
            {
                int L = run.LayersOf(p.Kind);
                var rows = new float[L * n];
                for (int l = 0; l < L; l++)
                {
                    var mean = await run.HeadAsync(l, new HeadSelector(null, "mean"), ctx.Cancellation, p.Kind);
                    mean.AsSpan(p.Query * n, n).CopyTo(rows.AsSpan(l * n, n));
                }
                across = AttentionViews.Image(rows, L, n, 256, AttentionViews.Colormap);
            }
            return new RowResult(p.Query, weights, top, across);
        });

        server.RegisterAsync<RunParams, GridResult>("attention/grid", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            CheckOneKind(run, "The model view");
            int n = run.N, L = run.Config.Layers, H = run.Config.Heads;
            int cell = Math.Clamp(p.Cell, 8, 256);
            var maps = new List<float[]>(L * H);
            int rows = 0, cols = 0;
            for (int l = 0; l < L; l++)
            {
                var all = await run.LayerAsync(l, ctx.Cancellation);
                for (int h = 0; h < H; h++)
                {
                    var reduced = Downsample.Reduce(all.AsSpan(h * n * n, n * n), n, n, cell, cell, ReduceMethod.MaxAbs);
                    // Each thumbnail on its own scale: a head's pattern matters here, not its magnitude.
                    float max = AttentionViews.Max(reduced.Values);
                    if (max > 0) System.Numerics.Tensors.TensorPrimitives.Multiply(reduced.Values, 1 / max, reduced.Values);
                    maps.Add(reduced.Values);
                    (rows, cols) = (reduced.Rows, reduced.Cols);
                }
            }
            int scale = Math.Max(1, cell / Math.Max(rows, cols));
            var sheet = SpriteSheet.FromMaps(maps, rows, cols, ColorScale.Fixed(0, 1, AttentionViews.Colormap), columns: H, pixelScale: scale, gap: 2, maxSize: 8192);
            var cells = sheet.Cells.Select(c => new GridCell(c.Index / H, c.Index % H, c.X, c.Y, c.Width, c.Height)).ToArray();
            return new GridResult(Convert.ToBase64String(sheet.ToPng()), sheet.Width, sheet.Height, L, H, cells,
                "each thumbnail is scaled to its own largest weight");
        });

        server.RegisterAsync<RunParams, RolloutResult>("attention/rollout", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            CheckOneKind(run, "Rollout and flow");
            int n = run.N, L = run.Config.Layers, H = run.Config.Heads;
            if (p.Method is not ("rollout" or "flow")) throw new ModelException($"unknown method \"{p.Method}\"; use rollout or flow");
            if (p.Method == "flow" && n > AttentionFlow.MaxTokens)
                throw new AnalysisException($"Attention flow solves {n}² max-flow problems; select at most {AttentionFlow.MaxTokens} tokens for it (rollout works at any length)");
            var layers = new List<float[]>(L);
            for (int l = 0; l < L; l++)
                layers.Add(AttentionRollout.MeanOverHeads(await run.LayerAsync(l, ctx.Cancellation), H, n));
            var result = p.Method == "flow" ? AttentionFlow.Compute(layers, n, ctx.Cancellation) : AttentionRollout.Compute(layers, n, ctx.Cancellation);
            var note = p.Method == "flow"
                ? "attention flow: max-flow from each output position to each input token through the residual-adjusted, head-averaged attention graph"
                : "attention rollout: head-averaged attention with the residual (½A + ½I) multiplied through all layers";
            return new RolloutResult(n, n <= MaxMatrixTokens ? AttentionViews.Base64(result) : null, AttentionViews.Image(result, n, Math.Clamp(p.MaxSize, 16, 4096)), p.Method, note);
        });

        server.Register<RunParams, object?>("attention/release", (p, _) => { session.Release(p.RunId); return null; });
    }

    static void CheckOneKind(AttentionRun run, string view)
    {
        if (run.IsEncoderDecoder)
            throw new ModelException($"{view} follows one stack of self-attention; for {run.Config.ModelType}'s encoder, decoder and cross-attention use the heatmap");
    }

    /// <summary>
    /// An encoder-decoder's decoder input: decoder_start_token_id, then the target's tokens, or the model's own greedy
    /// output for the text when no target is given (cut at <see cref="MaxGreedyTarget"/> tokens).
    /// </summary>
    internal static (ForwardInput Input, RunTarget Target) WithTarget(LanguageModel model, ModelVis.Tokenizers.Tokenizer tokenizer, ForwardInput input, string? target, CancellationToken ct)
    {
        int start = model.Config.DecoderStartTokenId;
        var startRaw = tokenizer.IdToToken(start) ?? $"<{start}>";
        var tokens = new List<RunToken> { new(start, startRaw, tokenizer.Readable(startRaw), null, null, true) };
        bool greedy = string.IsNullOrEmpty(target);
        if (greedy)
        {
            var generated = model.Generate(input.Ids, MaxGreedyTarget, ct);
            foreach (var id in generated)
            {
                var raw = tokenizer.IdToToken(id) ?? $"<{id}>";
                tokens.Add(new RunToken(id, raw, tokenizer.Readable(raw), null, null, model.Config.EosTokenIds.Contains(id) || id == model.Config.PadTokenId));
            }
            target = tokenizer.Decode(generated);
        }
        else
        {
            var encoding = tokenizer.Encode(target!);
            for (int i = 0; i < encoding.Count; i++)
            {
                var raw = encoding.Tokens[i];
                var span = encoding.Offsets[i];
                tokens.Add(new RunToken(encoding.Ids[i], raw, tokenizer.Readable(raw), span?.Start, span?.End, encoding.IsSpecial[i]));
            }
        }
        var ids = tokens.Select(t => t.Id).ToArray();
        return (input with { DecoderIds = ids }, new RunTarget(target!, tokens.ToArray(), greedy));
    }
}
