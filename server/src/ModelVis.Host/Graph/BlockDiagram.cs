using System.Text.RegularExpressions;
using ModelVis.Checkpoints;
using ModelVis.Models;

namespace ModelVis.Host.Graph;

/// <summary>
/// A language model's block diagram, from the tensors of the checkpoint the engine loads: embedding → N × block →
/// final norm → head, each block opening into its attention and its MLP with their tensors, shapes and parameter
/// counts. Tensors are grouped by their names as the families write them (Hugging Face's <c>layers.3.self_attn.q_proj</c>,
/// GPT-2's <c>h.3.attn.c_attn</c>, GGUF's <c>blk.3.attn_q</c>, T5's <c>block.3.layer.0.SelfAttention.q</c>).
/// </summary>
public static partial class BlockDiagram
{
    [GeneratedRegex(@"^(?<block>(?<stack>.*?)(?:layers|layer|h|blocks|block|blk)\.(?<index>\d+))\.(?<rest>.+)$")]
    private static partial Regex LayerName();

    public static ModelGraph Build(string path, ModelConfig config, ICheckpoint checkpoint)
    {
        // Keyed by stack and layer; the value keeps the block's name as the checkpoint writes it ("model.layers.3").
        var blocks = new SortedDictionary<(string Stack, int Index), (string Name, List<TensorInfo> Tensors)>(Comparer<(string Stack, int Index)>.Create((a, b) =>
            // Encoder stacks before decoder stacks, then by layer.
            (StackOrder(a.Stack), a.Stack, a.Index).CompareTo((StackOrder(b.Stack), b.Stack, b.Index))));
        var embedding = new List<TensorInfo>();
        var finalNorm = new List<TensorInfo>();
        var head = new List<TensorInfo>();
        var other = new List<TensorInfo>();
        foreach (var t in checkpoint.Tensors)
        {
            var m = LayerName().Match(t.Name);
            if (m.Success)
            {
                var key = (m.Groups["stack"].Value, int.Parse(m.Groups["index"].Value));
                if (!blocks.TryGetValue(key, out var block)) blocks[key] = block = (m.Groups["block"].Value, []);
                block.Tensors.Add(t);
                continue;
            }
            string lower = t.Name.ToLowerInvariant();
            if (lower.Contains("embed_out") || lower.StartsWith("lm_head") || lower is "output.weight" || lower.StartsWith("cls.") || lower.Contains("pooler")) head.Add(t);
            else if (lower.Contains("embed") || lower.Contains("embd") || lower.Contains("wte") || lower.Contains("wpe") || lower.StartsWith("shared") || lower.Contains("position")) embedding.Add(t);
            else if (lower.Contains("norm") || lower.Contains("ln_f")) finalNorm.Add(t);
            else other.Add(t);
        }

        var nodes = new List<GraphNode>();
        var edges = new List<GraphEdge>();
        string d = $"[n, {config.Hidden}]";
        void Chain(GraphNode node)
        {
            if (nodes.Count > 0) edges.Add(new GraphEdge(nodes[^1].Id, node.Id, "h", null));
            nodes.Add(node);
        }
        Chain(Group("embedding", "Embedding", "", embedding, new() { ["vocab"] = config.Vocab.ToString(), ["hidden"] = config.Hidden.ToString() }));
        foreach (var ((stack, index), (name, tensors)) in blocks)
        {
            var attention = tensors.Where(t => PartOf(Rest(t.Name)) == "attention").ToList();
            var mlp = tensors.Where(t => PartOf(Rest(t.Name)) == "mlp").ToList();
            string scope = name;
            string id = $"block:{name}";
            var children = new[]
            {
                Group(id + "/attention", "Attention", scope + ".attention", attention, new()
                {
                    ["heads"] = config.Heads.ToString(), ["kv heads"] = config.KvHeads.ToString(), ["head dim"] = config.HeadDim.ToString(),
                }),
                Group(id + "/mlp", config.GatedMlp || mlp.Count(t => t.Shape.Length == 2) >= 3 ? "Gated MLP" : "MLP", scope + ".mlp", mlp, new()
                {
                    ["intermediate"] = config.Intermediate.ToString(), ["activation"] = config.Activation,
                }),
            };
            var label = Stack(stack) is { Length: > 0 } side ? $"{side} block {index}" : $"block {index}";
            Chain(new GraphNode(id, label, name, scope, tensors.Sum(t => t.ElementCount), [],
                new() { ["in/out"] = d }, children, [new GraphEdge(children[0].Id, children[1].Id, "h", null)]));
        }
        if (finalNorm.Count > 0) Chain(Group("norm", "Final norm", "", finalNorm, []));
        if (config.HasLmHead)
            Chain(head.Count > 0 ? Group("head", "Head", "", head, new() { ["logits"] = $"[n, {config.Vocab}]" })
                : new GraphNode("head", "Head (tied to the embedding)", "", "", 0, [], new() { ["logits"] = $"[n, {config.Vocab}]" }));
        if (other.Count > 0) nodes.Add(Group("other", "Other tensors", "", other, []));

        long parameters = checkpoint.Tensors.Sum(t => t.ElementCount);
        string title = $"{config.ModelType}: {blocks.Count} blocks, {config.Hidden} wide";
        return new ModelGraph("blocks", title, path, nodes.ToArray(), edges.ToArray(), parameters, null);
    }

    static GraphNode Group(string id, string label, string scope, List<TensorInfo> tensors, Dictionary<string, string> attributes) =>
        new(id, label, scope, scope, tensors.Sum(t => t.ElementCount),
            tensors.Select(t => new GraphTensor(t.Name, t.Shape, t.DType.Name())).ToArray(), attributes);

    static string Rest(string name) => LayerName().Match(name).Groups["rest"].Value;

    /// <summary>
    /// Which sub-block a tensor of a block belongs to: the attention (with the norm before it) or the MLP (with
    /// its norm: Llama's post_attention_layernorm, GPT-2's ln_2, GGUF's ffn_norm, BERT's output.LayerNorm, T5's layer.1).
    /// </summary>
    internal static string PartOf(string rest)
    {
        string r = rest.ToLowerInvariant();
        if (r.StartsWith("attn") || r.StartsWith("self_attn") || r.StartsWith("attention") || r.Contains("selfattention") || r.Contains("encdecattention")
            || r.StartsWith("crossattention"))
            return "attention";
        if (r.Contains("mlp") || r.Contains("ffn") || r.Contains("feed_forward") || r.Contains("feedforward") || r.Contains("intermediate")
            || r.Contains("densereludense") || r.StartsWith("output.") || r.Contains("post_attention") || r.StartsWith("ln_2") || r.StartsWith("layer.1.")
            || r.StartsWith("layer.2."))
            return "mlp";
        return "attention";
    }

    static int StackOrder(string stack) => stack.Contains("encoder") ? 0 : stack.Contains("decoder") ? 1 : 0;

    static string Stack(string stack) => stack.Contains("encoder") ? "encoder" : stack.Contains("decoder") ? "decoder" : "";
}
