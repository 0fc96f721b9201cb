using ModelVis.Host.Browser;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

public sealed record TensorParams(string Path, string Tensor, int Bins = 64, int MaxSize = 512, string? Reduce = null, string? Colormap = null) : IValidatable
{
    public void Validate(string method)
    {
        new ModelPathParams(Path).Validate(method);
        if (string.IsNullOrEmpty(Tensor)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"tensor\" is required (a tensor name such as \"model.embed_tokens.weight\")");
    }
}

/// <summary><c>tensors/inspect</c> (statistics and histogram) and <c>tensors/image</c> (a heatmap PNG) of one tensor.</summary>
public sealed class TensorsHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.Register<TensorParams, TensorInspection>("tensors/inspect", (p, ctx) =>
            TensorViews.Inspect(session.Checkpoint(p.Path), p.Tensor, p.Bins, ctx.Cancellation));

        server.Register<TensorParams, TensorImageDto>("tensors/image", (p, _) =>
            TensorViews.Image(session.Checkpoint(p.Path), p.Tensor, p.MaxSize, p.Reduce, p.Colormap).Dto);
    }
}
