using ModelVis.Analysis;
using ModelVis.Host.Graph;
using ModelVis.Models;
using ModelVis.Rpc;
using ModelVis.Vision;

namespace ModelVis.Host.Handlers;

public sealed record GraphParams(string Model);
public sealed record ActivationParams(string RunId, int Bins = 80);

/// <summary>
/// A model's structure and its activation functions (issue 19): <c>graph/model</c> draws an ONNX file's operator
/// graph or a language model's block diagram; <c>activations/profile</c> histograms each MLP's activation inputs on a run.
/// </summary>
public sealed class StructureHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.RegisterAsync<GraphParams, ModelGraph>("graph/model", async (p, ctx) => await Task.Run(() =>
        {
            var path = Path.GetFullPath(p.Model);
            if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                VisionModel? model = null;
                try { model = session.VisionModel(path, null); }
                catch (VisionException) { }   // the operator graph is drawn even when the model cannot run; edges then carry the file's shapes only
                return OnnxGraphView.Build(path, model, ctx.Cancellation);
            }
            var loaded = session.Model(path);
            return BlockDiagram.Build(path, loaded.Model.Config, session.Checkpoint(path));
        }, ctx.Cancellation));

        server.RegisterAsync<ActivationParams, ActivationProfile>("activations/profile", async (p, ctx) =>
        {
            var run = session.Run(p.RunId);
            return await Task.Run(() => ActivationInputs.Capture(run.Loaded.Model, run.Input, p.Bins, ctx.Cancellation), ctx.Cancellation);
        });
    }
}
