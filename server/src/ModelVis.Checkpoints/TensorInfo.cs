namespace ModelVis.Checkpoints;

/// <summary>One tensor of a checkpoint: what it is and where its bytes live. Reading it is lazy.</summary>
/// <remarks>
/// <see cref="Offset"/> is the absolute file offset of the tensor's first element and <see cref="ByteLength"/>
/// its logical size (element count × element size). For formats whose tensors are views into shared
/// storages (PyTorch), <see cref="Layout"/> says how; <c>ReadBytes</c> always returns the logical,
/// row-major bytes, copying through strides where the view is not contiguous.
/// </remarks>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, string File, long Offset, long ByteLength)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>Storage view details where the format has them (PyTorch checkpoints); null otherwise.</summary>
    public TensorLayout? Layout { get; init; }
}

/// <summary>
/// How a tensor sits in its storage (PyTorch): storage name, offset in elements, strides in elements,
/// whether it is contiguous row-major, and which other tensors of the checkpoint share the storage
/// (tied weights, views).
/// </summary>
public sealed record TensorLayout(string Storage, long StorageOffset, long[] Strides, bool IsContiguous, IReadOnlyList<string> SharesStorageWith)
{
    public string StrideText => "[" + string.Join(", ", Strides) + "]";
}

/// <summary>A checkpoint problem a person can act on: which file, which tensor, what is wrong.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);
