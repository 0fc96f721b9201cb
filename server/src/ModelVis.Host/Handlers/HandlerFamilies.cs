using ModelVis.Rpc;

namespace ModelVis.Host.Handlers;

/// <summary>A family of RPC methods (one file each under Handlers/).</summary>
public interface IHandlerFamily
{
    void Register(RpcServer server, Session session);
}

public static class HandlerFamilies
{
    public static IEnumerable<IHandlerFamily> All =>
    [
        new InitializeHandler(),
        new ModelsHandlers(),
        new TensorsHandlers(),
        new AttentionHandlers(),
        new HiddenHandlers(),
        new FeaturesHandlers(),
        new TrainingHandlers(),
        new CircuitsHandlers(),
        new ProjectorHandlers(),
        new StructureHandlers(),
        new AttributionHandlers(),
        new RunsHandlers(),
    ];
}
