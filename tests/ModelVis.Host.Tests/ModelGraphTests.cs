using ModelVis.Checkpoints;
using ModelVis.Checkpoints.Onnx;
using ModelVis.Host.Graph;
using ModelVis.Models;
using ModelVis.Tests;
using ModelVis.Vision;
using Xunit;

namespace ModelVis.Host.Tests;

/// <summary>The graph view's structure against what the files say: ONNX nodes, edges and declared shapes; an LM's blocks and parameters.</summary>
public class ModelGraphTests
{
    public static TheoryData<string> OnnxFixtures => new()
    {
        "lenet5-mnist/lenet.onnx", "mnist-8-onnx/mnist.onnx", "ultraface-rfb320/version-RFB-320.onnx",
    };

    [Theory]
    [MemberData(nameof(OnnxFixtures))]
    public void An_onnx_graph_has_the_files_nodes_edges_and_shapes(string file)
    {
        var path = Fixtures.Path_(["models", .. file.Split('/')]);
        var onnx = OnnxModel.Load(path);
        var g = onnx.Graph;
        var graph = OnnxGraphView.Build(path, VisionModel.Open(path));

        var initializers = g.Initializers.Select(t => t.Name).ToHashSet();
        var constants = g.Nodes.Where(n => n.OpType == "Constant").SelectMany(n => n.Outputs).ToHashSet();
        var inputs = g.Inputs.Where(i => !initializers.Contains(i.Name)).ToList();
        int operators = g.Nodes.Count(n => n.OpType != "Constant");
        Assert.Equal(operators + inputs.Count + g.Outputs.Count, graph.Nodes.Length);
        Assert.Equal(inputs.Count, graph.Nodes.Count(n => n.Label == "Input"));
        Assert.Equal(g.Outputs.Count, graph.Nodes.Count(n => n.Label == "Output"));

        // Edges: every (value, consuming node) pair whose value an operator or the graph input makes, plus one per graph output.
        var made = g.Nodes.Where(n => n.OpType != "Constant").SelectMany(n => n.Outputs).Concat(inputs.Select(i => i.Name)).ToHashSet();
        int expectedEdges = g.Nodes.Where(n => n.OpType != "Constant").Sum(n => n.Inputs.Distinct().Count(i => made.Contains(i))) + g.Outputs.Count;
        Assert.Equal(expectedEdges, graph.Edges.Length);
        Assert.All(graph.Edges, e => Assert.NotNull(e.Shape));              // a run on zeros gives every edge its shape

        // Initializers and constants are folded into their operators, none lost, and the parameter count is the file's.
        var folded = graph.Nodes.SelectMany(n => n.Tensors).Select(t => t.Name).ToHashSet();
        Assert.True(initializers.All(i => folded.Contains(i) || !g.Nodes.Any(n => n.Inputs.Contains(i))));
        Assert.True(constants.All(c => folded.Contains(c) || !g.Nodes.Any(n => n.Inputs.Contains(c))));
        Assert.Equal(g.Initializers.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b)), graph.Parameters);
        foreach (var node in graph.Nodes.Where(n => n.Tensors.Length > 0))
            foreach (var t in node.Tensors.Where(t => initializers.Contains(t.Name)))
                Assert.Equal(g.Initializers.Single(i => i.Name == t.Name).Dims, t.Shape);

        // Shapes the file declares (inputs, outputs, value_info) are the shapes on the edges.
        var declared = g.Inputs.Concat(g.ValueInfo).Concat(g.Outputs).Where(v => v.Shape is { } s && s.All(d => d is > 0))
            .ToDictionary(v => v.Name, v => v.Shape!.Select(d => d!.Value).ToArray());
        int checkedShapes = 0;
        foreach (var e in graph.Edges.Where(e => declared.ContainsKey(e.Tensor)))
        {
            Assert.Equal(declared[e.Tensor], e.Shape);
            checkedShapes++;
        }
        Assert.True(checkedShapes >= 1, "no declared shape to check");
    }

    [Fact]
    public void Ultraface_names_its_scopes_and_a_conv_carries_its_attributes()
    {
        var path = Fixtures.Path_("models", "ultraface-rfb320", "version-RFB-320.onnx");
        var graph = OnnxGraphView.Build(path, VisionModel.Open(path));
        var conv = graph.Nodes.First(n => n.Label == "Conv");
        Assert.True(conv.Attributes.ContainsKey("kernel_shape"));
        Assert.Contains(conv.Tensors, t => t.Shape.Length == 4);
        Assert.Equal(new long[] { 1, 4420, 2 }, graph.Edges.Single(e => e.To == "output:scores").Shape);
    }

    [Theory]
    [InlineData("stories260K", 5, true)]
    [InlineData("tiny-llama", 2, false)]
    [InlineData("tiny-gpt2", 2, true)]
    [InlineData("gguf/stories260K-q8_0.gguf", 5, true)]
    public void A_language_model_is_embedding_blocks_norm_head_with_the_files_parameters(string model, int layers, bool tied)
    {
        var path = Fixtures.Model(model);
        using var lm = ModelLoader.Load(path);
        using var checkpoint = CheckpointLoader.Open(path);
        var graph = BlockDiagram.Build(path, lm.Config, checkpoint);
        Assert.Equal("blocks", graph.Kind);
        Assert.Equal(new[] { "Embedding" }.Concat(Enumerable.Range(0, layers).Select(l => $"block {l}")).Append("Final norm")
            .Append(tied ? "Head (tied to the embedding)" : "Head"), graph.Nodes.Select(n => n.Label));
        Assert.Equal(graph.Nodes.Length - 1, graph.Edges.Length);
        Assert.Equal(checkpoint.Tensors.Sum(t => t.ElementCount), graph.Parameters);
        Assert.Equal(graph.Parameters, graph.Nodes.Sum(n => n.Parameters));
        foreach (var block in graph.Nodes.Where(n => n.Children is not null))
        {
            var (attention, mlp) = (block.Children![0], block.Children[1]);
            Assert.Equal(block.Parameters, attention.Parameters + mlp.Parameters);
            int d = lm.Config.Hidden, I = lm.Config.Intermediate;
            // Attention: q, k, v, o (fused or not) and its norm: d·(d + 2·kv·hd) + d·d + d (+ biases).
            long qkvo = (long)d * (lm.Config.Heads * lm.Config.HeadDim) * 2 + 2L * d * lm.Config.KvHeads * lm.Config.HeadDim;
            Assert.InRange(attention.Parameters - qkvo, d, 10L * d);
            long mlpWeights = lm.Config.Family == ModelFamily.Gpt2 ? 2L * d * I : 3L * d * I;
            Assert.InRange(mlp.Parameters - mlpWeights, d, 10L * d + I);
        }
    }
}
