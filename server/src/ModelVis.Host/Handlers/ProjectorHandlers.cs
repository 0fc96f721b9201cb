using System.Runtime.CompilerServices;
using ModelVis.Analysis;
using ModelVis.Host.Attention;
using ModelVis.Models;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary>
/// Which points: <c>embed</c> / <c>unembed</c> (one per vocabulary token, of <c>model</c>), or <c>hidden</c> (one per
/// token of run <c>runId</c> at hidden state <c>layer</c>). <c>runId</c> with a token matrix marks the run's tokens.
/// </summary>
public sealed record ProjectorParams(string? Model = null, string? RunId = null, string Source = "embed", int Layer = 0, int Components = 50) : IValidatable
{
    public void Validate(string method)
    {
        if (Source is not ("embed" or "unembed" or "hidden"))
            throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: source is \"embed\", \"unembed\" or \"hidden\", not \"{Source}\"");
        if (Model is null && RunId is null) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: give \"model\" or \"runId\"");
        if (Source == "hidden" && RunId is null) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: hidden states need \"runId\"");
    }
}

/// <summary>
/// The points' principal components: <c>coords</c> base64 float32 [count, dims] (dims ≤ 50; the view's PCA takes the
/// first 2 or 3, UMAP starts from all of them), one label and token id per point, properties to colour by, and the
/// points of the selection.
/// </summary>
public sealed record ProjectorResult(string Source, int Count, int Dims, int Width, string Coords, float[] Variance, float[] Explained,
    string[] Labels, int[] Ids, Dictionary<string, float[]> Properties, int[] Selected, double Milliseconds);

public sealed record NeighborsParams(string? Model = null, string? RunId = null, string Source = "embed", int Layer = 0, int? Point = null, string? Token = null, int K = 10);
public sealed record NeighborEntry(int Point, int Id, string Token, float Cosine);
public sealed record NeighborsResult(int Point, int Id, string Token, NeighborEntry[] Neighbors);

/// <summary>
/// The embedding projector (issue 19): token embeddings, unembeddings or a layer's hidden states as points, reduced
/// by PCA in the host (streamed, so the whole vocabulary of a large model fits); nearest neighbours by cosine.
/// </summary>
public sealed class ProjectorHandlers : IHandlerFamily
{
    /// <summary>PCA of a whole token matrix takes seconds: kept per model and matrix while the model is loaded.</summary>
    readonly ConditionalWeakTable<LanguageModel, Dictionary<string, (PcaResult Pca, float[] Norms)>> _tokenPca = new();

    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<ProjectorParams, ProjectorResult>("embeddings/project", async (p, ctx) =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var run = p.RunId is null ? null : session.Run(p.RunId);
            var loaded = run?.Loaded ?? session.Model(p.Model!);
            var model = loaded.Model;
            int components = Math.Clamp(p.Components, 2, 50);
            if (p.Source == "hidden")
            {
                var hidden = await run!.AllHiddenAsync(ctx.Cancellation);
                if ((uint)p.Layer >= (uint)hidden.Count) throw new ModelException($"hidden state {p.Layer} does not exist; choose 0..{hidden.Count - 1}");
                int n = run.N, d = run.Config.Hidden;
                if (n < 3) throw new ModelException("the selection has fewer than 3 tokens: select more text to project its hidden states");
                var h = hidden[p.Layer];
                var pca = Geometry.Pca(h, n, d, Math.Min(components, n - 1));
                var props = new Dictionary<string, float[]>
                {
                    ["position"] = Enumerable.Range(0, n).Select(i => (float)i).ToArray(),
                    ["norm"] = Geometry.RowNorms(h, n, d),
                    ["token id"] = run.Input.Ids.Select(i => (float)i).ToArray(),
                };
                return new ProjectorResult("hidden", n, pca.Components, d, AttentionViews.Base64(pca.Coordinates), pca.Variance, pca.ExplainedRatio,
                    run.Tokens.Select(t => t.Display).ToArray(), run.Input.Ids, props, Enumerable.Range(0, n).ToArray(), clock.Elapsed.TotalMilliseconds);
            }
            var matrix = p.Source == "unembed" ? TokenMatrix.Unembedding : TokenMatrix.Embedding;
            var (tokenPca, norms) = await Task.Run(() => TokenPca(model, matrix, components, ctx.Cancellation), ctx.Cancellation);
            int vocab = model.Config.Vocab;
            var tokenizer = loaded.Tokenizer;
            var labels = new string[vocab];
            var length = new float[vocab];
            for (int id = 0; id < vocab; id++)
            {
                labels[id] = tokenizer?.IdToToken(id) is { } t ? tokenizer.Readable(t) : id.ToString();
                length[id] = labels[id].Length;
            }
            var properties = new Dictionary<string, float[]>
            {
                ["norm"] = norms,
                ["token id"] = Enumerable.Range(0, vocab).Select(i => (float)i).ToArray(),
                ["label length"] = length,
            };
            var selected = run?.Input.Ids.Where(i => i < vocab).Distinct().ToArray() ?? [];
            return new ProjectorResult(p.Source, vocab, tokenPca.Components, model.Config.Hidden, AttentionViews.Base64(tokenPca.Coordinates),
                tokenPca.Variance, tokenPca.ExplainedRatio, labels, Enumerable.Range(0, vocab).ToArray(), properties, selected, clock.Elapsed.TotalMilliseconds);
        });

        server.RegisterAsync<NeighborsParams, NeighborsResult>("embeddings/neighbors", async (p, ctx) =>
        {
            var run = p.RunId is null ? null : session.Run(p.RunId);
            var loaded = run?.Loaded ?? (p.Model is { } m ? session.Model(m) : throw new RpcException(RpcErrorCodes.InvalidParams, "embeddings/neighbors: give \"model\" or \"runId\""));
            var tokenizer = loaded.Tokenizer;
            string Text(int id) => tokenizer?.IdToToken(id) is { } t ? tokenizer.Readable(t) : id.ToString();
            int k = Math.Clamp(p.K, 1, 200);
            if (p.Source == "hidden")
            {
                if (run is null) throw new RpcException(RpcErrorCodes.InvalidParams, "embeddings/neighbors: hidden states need \"runId\"");
                int point = p.Point ?? throw new RpcException(RpcErrorCodes.InvalidParams, "embeddings/neighbors: hidden states need \"point\" (a position)");
                var hidden = await run.AllHiddenAsync(ctx.Cancellation);
                if ((uint)p.Layer >= (uint)hidden.Count) throw new ModelException($"hidden state {p.Layer} does not exist; choose 0..{hidden.Count - 1}");
                if ((uint)point >= (uint)run.N) throw new ModelException($"position {point} is outside the selection (0..{run.N - 1})");
                int n = run.N, d = run.Config.Hidden;
                var sim = Geometry.CosineSimilarity(hidden[p.Layer], n, d);
                var near = Enumerable.Range(0, n).Where(j => j != point).OrderByDescending(j => sim[point * n + j]).ThenBy(j => j).Take(k)
                    .Select(j => new NeighborEntry(j, run.Input.Ids[j], run.Tokens[j].Display, sim[point * n + j])).ToArray();
                return new NeighborsResult(point, run.Input.Ids[point], run.Tokens[point].Display, near);
            }
            int id = p.Point ?? (p.Token is { } token ? loaded.RequireTokenizer().SingleTokenId(token)
                : throw new RpcException(RpcErrorCodes.InvalidParams, "embeddings/neighbors: give \"point\" (a token id) or \"token\""));
            var matrix = p.Source == "unembed" ? TokenMatrix.Unembedding : TokenMatrix.Embedding;
            var nearest = await Task.Run(() => TokenNeighbors.Nearest(loaded.Model, matrix, id, k, ctx.Cancellation), ctx.Cancellation);
            return new NeighborsResult(id, id, Text(id), nearest.Select(x => new NeighborEntry(x.Id, x.Id, Text(x.Id), x.Cosine)).ToArray());
        });
    }

    (PcaResult Pca, float[] Norms) TokenPca(LanguageModel model, TokenMatrix matrix, int components, CancellationToken ct)
    {
        var cache = _tokenPca.GetOrCreateValue(model);
        string key = $"{matrix}/{components}";
        lock (cache) if (cache.TryGetValue(key, out var kept)) return kept;
        int vocab = model.Config.Vocab, d = model.Config.Hidden;
        var norms = new float[vocab];
        var pca = StreamedPca.Compute(vocab, d, (i, row) =>
        {
            model.TokenRow(matrix, i, row);
            norms[i] = System.Numerics.Tensors.TensorPrimitives.Norm(row);
        }, components, ct);
        lock (cache) cache[key] = (pca, norms);
        return (pca, norms);
    }
}
