using ModelVis.Analysis;
using ModelVis.Host.Attention;
using ModelVis.Models;
using ModelVis.Render;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

public sealed record LensEntry(int Id, string Token, float Prob);
public sealed record LensResult(int Layers, int N, LensEntry[][][] Top, int[][] NextRank, float[][] NextProb, MatrixImage RankImage, string RankNote);
public sealed record GeometryResult(int Layer, int N, string? Similarity, MatrixImage SimilarityImage, float[][] Norms, PcaLayer[] Pca);
public sealed record PcaLayer(int Layer, float[] X, float[] Y, float[] Explained);
/// <summary>The [tokens × width] hidden state as a picture; <c>Values</c> (base64 float32, row = token) when at most
/// <see cref="HiddenHandlers.MaxImageValues"/> numbers, so the panel can read out (token, dimension).</summary>
public sealed record HiddenImage(int Layer, string Png, int Width, int Height, int Rows, int Cols, string? Note, float Limit, string? Values);
public sealed record NeuronsResult(int Layer, int Intermediate, NeuronSummary[] Top);
public sealed record NeuronActivations(int Layer, int Neuron, float[] Activations, float Max, float Min);
public sealed record NmfComponents(int Layer, int Components, float[][] TokenWeights, float RelativeError, int[][] TopNeurons);

public sealed record LayerParams(string RunId, int Layer = 0, int Top = 5, int Neuron = 0, int Components = 4, int MaxSize = 1024);

/// <summary>
/// Hidden states and neurons of an attention run (tabs of the same panel, same forward pass): logit lens and
/// next-token ranks, representation geometry (cosine similarity, norms, PCA), the raw hidden-state image,
/// the most active MLP neurons and an NMF of a layer's activations.
/// </summary>
public sealed class HiddenHandlers : IHandlerFamily
{
    /// <summary>Largest hidden-state matrix sent as numbers with its picture (1 MiB of float32).</summary>
    public const int MaxImageValues = 1 << 18;

    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<LayerParams, LensResult>("hidden/lens", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var hidden = await run.AllHiddenAsync(ctx.Cancellation);
            var ids = run.Input.Ids;
            var lens = LogitLens.Compute(run.Loaded.Model, hidden, ids, Math.Clamp(p.Top, 1, 20), ctx.Cancellation);
            var tokenizer = run.Loaded.Tokenizer;
            string Text(int id) => tokenizer?.IdToToken(id) is { } t ? tokenizer.Readable(t) : id.ToString();
            var top = lens.Top.Select(layer => layer.Select(pos => pos.Select(tp => new LensEntry(tp.Id, Text(tp.Id), tp.Prob)).ToArray()).ToArray()).ToArray();
            // Ecco's rankings view: log rank of the actual next token, positions down, hidden states across (as
            // the lens grid and the hidden-state image lay them out, so the panel labels tokens down the side).
            int n = run.N, K = lens.Layers;
            var ranks = new float[n * K];
            for (int i = 0; i < n; i++)
                for (int k = 0; k < K; k++) ranks[i * K + k] = lens.NextTokenRank[k][i] < 0 ? 0 : MathF.Log10(1 + lens.NextTokenRank[k][i]);
            var image = AttentionViews.Image(ranks, n, K, 1024, "magma");
            return new LensResult(K, n, top, lens.NextTokenRank, lens.NextTokenProb, image,
                "log₁₀(1 + rank) of the token that actually comes next; dark = the layer already predicts it");
        });

        server.RegisterAsync<LayerParams, GeometryResult>("hidden/geometry", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            int n = run.N, d = run.Config.Hidden;
            var hidden = await run.AllHiddenAsync(ctx.Cancellation);
            if ((uint)p.Layer >= (uint)hidden.Count) throw new ModelException($"hidden state {p.Layer} does not exist; choose 0..{hidden.Count - 1}");
            var sim = Geometry.CosineSimilarity(hidden[p.Layer], n, d);
            var simImage = Render(sim, n, n, p.MaxSize, "rdbu", symmetric: true);
            var norms = hidden.Select(h => Geometry.RowNorms(h, n, d)).ToArray();
            var pca = hidden.Select((h, k) =>
            {
                var r = Geometry.Pca(h, n, d, 2);
                return new PcaLayer(k, Enumerable.Range(0, n).Select(i => r.Coordinates[i * 2]).ToArray(),
                    Enumerable.Range(0, n).Select(i => r.Components > 1 ? r.Coordinates[i * 2 + 1] : 0).ToArray(), r.ExplainedRatio);
            }).ToArray();
            return new GeometryResult(p.Layer, n, n <= AttentionHandlers.MaxMatrixTokens ? AttentionViews.Base64(sim) : null, simImage, norms, pca);
        });

        server.RegisterAsync<LayerParams, HiddenImage>("hidden/image", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var h = await run.HiddenAsync(p.Layer, ctx.Cancellation);
            var image = TensorImageLayout.Render(h, [run.N, run.Config.Hidden], new TensorImageOptions { MaxSize = Math.Clamp(p.MaxSize, 16, 4096) });
            var values = (long)run.N * run.Config.Hidden <= MaxImageValues ? AttentionViews.Base64(h) : null;
            return new HiddenImage(p.Layer, image.PngBase64, image.Width, image.Height, run.N, run.Config.Hidden, image.Note, image.Scale.Limit, values);
        });

        server.Register<LayerParams, NeuronsResult>("neurons/top", (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            var act = run.MlpActivations(p.Layer, ctx.Cancellation);
            return new NeuronsResult(p.Layer, run.Config.Intermediate, NeuronRanking.Top(act, run.N, run.Config.Intermediate, Math.Clamp(p.Top, 1, 200)));
        });

        server.Register<LayerParams, NeuronActivations>("neurons/activations", (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            int m = run.Config.Intermediate;
            if ((uint)p.Neuron >= (uint)m) throw new ModelException($"neuron {p.Neuron} does not exist; layer {p.Layer} has neurons 0..{m - 1}");
            var act = run.MlpActivations(p.Layer, ctx.Cancellation);
            var values = Enumerable.Range(0, run.N).Select(i => act[i * m + p.Neuron]).ToArray();
            return new NeuronActivations(p.Layer, p.Neuron, values, values.Max(), values.Min());
        });

        server.Register<LayerParams, NmfComponents>("neurons/nmf", (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            int n = run.N, m = run.Config.Intermediate;
            int k = Math.Clamp(p.Components, 1, Math.Min(10, Math.Min(n, m)));
            var act = run.MlpActivations(p.Layer, ctx.Cancellation);
            var r = Nmf.Factorize(act, n, m, k, ct: ctx.Cancellation);
            var weights = Enumerable.Range(0, k).Select(c => Enumerable.Range(0, n).Select(i => r.W[i * k + c]).ToArray()).ToArray();
            var topNeurons = Enumerable.Range(0, k).Select(c => Enumerable.Range(0, m).OrderByDescending(j => r.H[c * m + j]).Take(5).ToArray()).ToArray();
            return new NmfComponents(p.Layer, k, weights, r.RelativeError, topNeurons);
        });
    }

    static MatrixImage Render(float[] values, int rows, int cols, int maxSize, string colormap, bool symmetric)
    {
        var reduced = Downsample.Reduce(values, rows, cols, maxSize, maxSize, ReduceMethod.Mean);
        var scale = symmetric ? ColorScale.Symmetric(1, -1, 1, colormap) : ColorScale.Sequential(reduced.Values, colormap);
        var image = Heatmap.Render(reduced.Values, reduced.Rows, reduced.Cols, scale);
        return new MatrixImage(Convert.ToBase64String(image.ToPng()), image.Width, image.Height, rows, reduced.RowFactor, scale.High, colormap);
    }
}