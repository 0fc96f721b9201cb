using ModelVis.Host.Browser;
using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

public sealed record DiscoverParams(string[]? Roots, string[]? WorkspaceFolders, bool IncludeHfCache = true, string? HfCache = null,
    bool IncludeLocalRuntimes = true, RuntimeFolder[]? RuntimeFolders = null);
/// <summary>A local runtime's model store: <c>source</c> is "ollama" (manifests + blobs), "lm-studio" or "llama.cpp" (GGUF files).</summary>
public sealed record RuntimeFolder(string Folder, string Source);
public sealed record DiscoverResult(List<ModelEntry> Models, string? HfCache);

public sealed record ModelPathParams(string Path) : IValidatable
{
    public void Validate(string method)
    {
        if (string.IsNullOrWhiteSpace(Path)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"path\" is required (a checkpoint file or model folder)");
        if (!System.IO.Path.IsPathFullyQualified(Path)) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: \"path\" must be absolute, got \"{Path}\"");
    }
}

/// <summary><c>models/discover</c>, <c>models/tree</c>, <c>models/forget</c>: the checkpoint browser's side panel.</summary>
public sealed class ModelsHandlers : IHandlerFamily
{
    public void Register(RpcServer server, Session session)
    {
        server.Register<DiscoverParams, DiscoverResult>("models/discover", (p, ctx) =>
        {
            var roots = (p.WorkspaceFolders ?? []).Select(r => (r, "workspace"))
                .Concat((p.Roots ?? []).Select(r => (r, "root")));
            var cache = p.IncludeHfCache ? p.HfCache ?? ModelDiscovery.DefaultHfCache() : null;
            var runtimes = !p.IncludeLocalRuntimes ? null
                : p.RuntimeFolders is { } given ? given.Select(r => (r.Folder, r.Source)).ToList()
                : ModelDiscovery.DefaultRuntimeFolders();
            return new DiscoverResult(ModelDiscovery.Discover(roots, cache, ctx.Cancellation, runtimes), cache);
        });

        server.Register<ModelPathParams, ModelTreeResult>("models/tree", (p, _) => ModelTree.Build(p.Path, session.Checkpoint(p.Path)));

        // The extension calls this when a checkpoint's files change on disk, so the next request reopens it.
        server.Register<ModelPathParams, object?>("models/forget", (p, _) => { session.Forget(p.Path); return null; });
    }
}
