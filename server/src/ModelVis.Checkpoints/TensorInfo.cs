namespace ModelVis.Checkpoints;

/// <summary>One tensor of a checkpoint: what it is and where its bytes live. Reading it is lazy.</summary>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, string File, long Offset, long ByteLength)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>A checkpoint problem a person can act on: which file, which tensor, what is wrong.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);
