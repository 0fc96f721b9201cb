using ModelVis.Vision.Images;

namespace ModelVis.Vision;

/// <summary>One layer's output: the ONNX node output name (or the sidecar layer name), the operator, and the values.</summary>
/// <param name="Shape">Without the batch dimension: [C, H, W] for feature maps, [features] for vectors.</param>
/// <param name="Value">The full tensor, batch dimension included ([1, C, H, W]).</param>
public sealed record LayerOutput(string Name, string NodeName, string OpType, int[] Shape, NdArray Value)
{
    /// <summary>Whether this output is a stack of 2-D maps that can be shown as images.</summary>
    public bool IsFeatureMap => Shape.Length == 3;
    public int Channels => IsFeatureMap ? Shape[0] : 1;

    /// <summary>Channel <paramref name="c"/>'s map (H×W values) of a feature-map output.</summary>
    public ReadOnlySpan<float> Map(int c)
    {
        if (!IsFeatureMap) throw new VisionException($"layer {Name} has shape {NdArray.ShapeText(Shape)}, not [C, H, W] maps");
        int size = Shape[1] * Shape[2];
        return Value.Floats.AsSpan(c * size, size);
    }

    /// <summary>Mean activation per channel (the panel sorts channels by it).</summary>
    public float[] ChannelMeans()
    {
        if (!IsFeatureMap) return [];
        var means = new float[Shape[0]];
        for (int c = 0; c < means.Length; c++) means[c] = System.Numerics.Tensors.TensorPrimitives.Sum(Map(c)) / (Shape[1] * Shape[2]);
        return means;
    }
}

public sealed record ClassScore(int Index, float Probability, float Logit, string? Label);

/// <summary>
/// The class-activation map inputs: the last feature maps before global pooling, and the classifier's weights on
/// them, so CAM(c) = Σₖ W[c, k] · A[k] for any class c (Zhou et al., 2016).
/// </summary>
public sealed record CamSource(string FeatureLayer, NdArray Features, float[] ClassWeights, int Classes)
{
    public int Channels => Features.Shape[1];
    public int Height => Features.Shape[2];
    public int Width => Features.Shape[3];

    /// <summary>The map for one class at the feature maps' resolution (Height×Width values, row-major).</summary>
    public float[] Map(int classIndex)
    {
        if ((uint)classIndex >= (uint)Classes) throw new VisionException($"class {classIndex} out of range (the model has {Classes})");
        int size = Height * Width;
        var map = new float[size];
        var a = Features.Floats;
        for (int k = 0; k < Channels; k++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(a.AsSpan(k * size, size), ClassWeights[classIndex * Channels + k], map, map);
        return map;
    }
}

/// <summary>Everything one forward pass of a vision model produced.</summary>
public sealed class FeatureRun
{
    /// <summary>The preprocessed input [1, C, H, W].</summary>
    public required NdArray Input { get; init; }
    public required Preprocessing Preprocessing { get; init; }
    /// <summary>Every node output in execution order (only the outputs asked for when not capturing all).</summary>
    public required IReadOnlyList<LayerOutput> Layers { get; init; }
    /// <summary>The graph outputs by name.</summary>
    public required IReadOnlyDictionary<string, NdArray> Outputs { get; init; }
    /// <summary>Class scores before softmax: [1, classes] for classifiers, else the first graph output as it is.</summary>
    public required NdArray Logits { get; init; }
    /// <summary>softmax(logits) for classifiers (the model's own softmax output where it ends in one); null otherwise.</summary>
    public float[]? Probabilities { get; init; }
    public IReadOnlyList<ClassScore> Top5 { get; init; } = [];
    /// <summary>Set when the network ends in global average pooling + a linear classifier.</summary>
    public CamSource? Cam { get; init; }
    public TimeSpan Elapsed { get; init; }

    public int? PredictedClass => Top5.Count > 0 ? Top5[0].Index : null;

    public LayerOutput Layer(string name) =>
        Layers.FirstOrDefault(l => l.Name == name) ?? Layers.FirstOrDefault(l => l.NodeName == name)
        ?? throw new VisionException($"no layer named \"{name}\" (layers: {string.Join(", ", Layers.Select(l => l.Name).Take(40))}{(Layers.Count > 40 ? ", …" : "")})");
}
