namespace ModelVis.Host.Graph;

/// <summary>A tensor a node holds (an initializer folded into its operator, a module's weight): its real checkpoint name.</summary>
public sealed record GraphTensor(string Name, long[] Shape, string DType);

/// <summary>
/// One box of the graph view. <c>Scope</c> is the name path the view collapses by ("backbone/conv1", "layers.3");
/// <c>Children</c> are the boxes it opens into (a transformer block's attention and MLP), with their own edges.
/// </summary>
public sealed record GraphNode(string Id, string Label, string Name, string Scope, long Parameters, GraphTensor[] Tensors,
    Dictionary<string, string> Attributes, GraphNode[]? Children = null, GraphEdge[]? ChildEdges = null);

/// <summary>A value flowing from one node to another, with its shape where known (batch dimension included).</summary>
public sealed record GraphEdge(string From, string To, string Tensor, long[]? Shape);

/// <summary>
/// The structure of a model as the graph view draws it: an ONNX operator graph (<c>kind</c> "onnx") or a language
/// model's block diagram (<c>kind</c> "blocks"). <c>Path</c> is the checkpoint whose tensors the nodes name.
/// </summary>
public sealed record ModelGraph(string Kind, string Title, string Path, GraphNode[] Nodes, GraphEdge[] Edges, long Parameters, string? Note);
