using System.Globalization;
using ModelVis.Checkpoints;

namespace ModelVis.Host.Browser;

public sealed record TensorSummary(string Name, string Dtype, long[] Shape, string File, bool Readable);

public sealed record TreeNode(string Name, string Path, string Kind, long Parameters, int[]? Range = null, List<TreeNode>? Children = null, TensorSummary? Tensor = null);

public sealed record ModelTreeResult(string Path, string Name, string? Architecture, string? ModelType, long TotalParameters,
    Dictionary<string, long> Dtypes, string[] Files, TreeNode Root);

/// <summary>
/// Groups a checkpoint's tensors by their dotted names into modules (<c>model.layers.0.self_attn</c> → <c>q_proj</c>, …),
/// collapsing runs of numbered children under one <c>layers [0–31]</c> node.
/// </summary>
public static class ModelTree
{
    public static ModelTreeResult Build(string path, ICheckpoint ckpt)
    {
        var folder = Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(path)!;
        var (arch, type) = Directory.Exists(path) ? ModelDiscovery.ReadConfigSummary(path) : (null, null);
        var root = Group("", "", ckpt.Tensors.Select(t => (Parts: t.Name.Split('.'), Info: t)).ToList(), 0);
        var dtypes = ckpt.Tensors.GroupBy(t => t.DType.Name()).ToDictionary(g => g.Key, g => g.Sum(t => t.ElementCount));
        var files = ckpt.Tensors.Select(t => System.IO.Path.GetRelativePath(folder, t.File)).Distinct().Order(StringComparer.Ordinal).ToArray();
        var name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path));
        return new ModelTreeResult(path, name, arch, type, root.Parameters, dtypes, files, root with { Name = name, Kind = "model" });
    }

    static TreeNode Group(string name, string prefix, List<(string[] Parts, TensorInfo Info)> tensors, int depth)
    {
        var children = new List<TreeNode>();
        // Keep first-appearance order, except numbered children which go in numeric order.
        var groups = tensors.GroupBy(t => t.Parts[depth]).ToList();
        foreach (var g in groups.OrderBy(g => IsIndex(g.Key) ? int.Parse(g.Key, CultureInfo.InvariantCulture) : -1))
        {
            var childPath = prefix.Length == 0 ? g.Key : prefix + "." + g.Key;
            var leaf = g.FirstOrDefault(t => t.Parts.Length == depth + 1);
            if (leaf.Info != null)
                children.Add(TensorNode(g.Key, leaf.Info));
            var deeper = g.Where(t => t.Parts.Length > depth + 1).ToList();
            if (deeper.Count > 0) children.Add(Group(g.Key, childPath, deeper, depth + 1));
        }
        long parameters = children.Sum(c => c.Parameters);
        // A module whose children are all numbered blocks (0, 1, … 31) is shown as "layers [0–31]".
        if (children.Count >= 2 && children.All(c => c.Kind != "tensor" && IsIndex(c.Name)))
        {
            int first = int.Parse(children[0].Name, CultureInfo.InvariantCulture), last = int.Parse(children[^1].Name, CultureInfo.InvariantCulture);
            return new TreeNode($"{name} [{first}–{last}]", prefix, "layers", parameters, [first, last], children);
        }
        return new TreeNode(name, prefix, "module", parameters, Children: children);
    }

    static TreeNode TensorNode(string name, TensorInfo t) =>
        new(name, t.Name, "tensor", t.ElementCount, Tensor: new TensorSummary(t.Name, t.DType.Name(), t.Shape, t.File, t.DType.IsReadableAsFloat()));

    static bool IsIndex(string s) => s.Length is > 0 and < 8 && s.All(char.IsAsciiDigit);
}
