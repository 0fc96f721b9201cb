using ModelVis.Host.Handlers;
using ModelVis.Rpc;

namespace ModelVis.Host;

/// <summary>The host: one RPC server, one session, and every handler family registered on it.</summary>
public static class HostServer
{
    public static RpcServer Create(Stream input, Stream output, TextWriter log, Session session)
    {
        var server = new RpcServer(input, output, log);
        foreach (var family in HandlerFamilies.All) family.Register(server, session);
        return server;
    }

    public static async Task<int> RunAsync(Stream input, Stream output, TextWriter log)
    {
        using var session = new Session();
        var server = Create(input, output, log, session);
        log.WriteLine($"[host] ModelVis host {Versions.Product} on .NET {Environment.Version}, pid {Environment.ProcessId}");
        return await server.RunAsync();
    }
}
