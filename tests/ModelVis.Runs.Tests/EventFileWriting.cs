using System.Buffers.Binary;
using Google.Protobuf;
using ModelVis.Runs;
using ModelVis.Runs.Proto;

namespace ModelVis.Runs.Tests;

/// <summary>
/// Writes event files the way TF2 and PyTorch do, framed here independently of the reader (the CRC is the only
/// shared part, and it is checked against published test vectors in <see cref="Crc32CTests"/>).
/// </summary>
static class EventFileWriting
{
    public static byte[] Frame(byte[] data)
    {
        var record = new byte[12 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.Mask(Crc32C.Compute(record.AsSpan(0, 8))));
        data.CopyTo(record, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), Crc32C.Mask(Crc32C.Compute(data)));
        return record;
    }

    public static byte[] Frame(Event e) => Frame(e.ToByteArray());

    public static Event FileVersion(double wallTime) => new() { WallTime = wallTime, FileVersion = "brain.Event:2" };

    /// <summary>TF2 <c>tf.summary.scalar</c>: a rank-0 float tensor; the plugin named on the tag's first value only.</summary>
    public static Event Tf2Scalar(string tag, long step, double wallTime, float value, bool withMetadata, bool asContent)
    {
        var tensor = new TensorProto { Dtype = DataType.DtFloat, TensorShape = new TensorShapeProto() };
        if (asContent)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            tensor.TensorContent = ByteString.CopyFrom(bytes);
        }
        else tensor.FloatVal.Add(value);
        var v = new Summary.Types.Value { Tag = tag, Tensor = tensor };
        if (withMetadata)
            v.Metadata = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "scalars" }, DataClass = DataClass.Scalar };
        return new Event { Step = step, WallTime = wallTime, Summary = new Summary { Value = { v } } };
    }

    /// <summary>TF2 <c>tf.summary.histogram</c>: a [k, 3] float64 tensor of (left, right, count) in tensor_content.</summary>
    public static Event Tf2Histogram(string tag, long step, double wallTime, double[,] buckets, bool withMetadata)
    {
        int k = buckets.GetLength(0);
        var bytes = new byte[k * 3 * 8];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < 3; j++)
                BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan((i * 3 + j) * 8), buckets[i, j]);
        var tensor = new TensorProto
        {
            Dtype = DataType.DtDouble,
            TensorShape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dim { Size = k }, new TensorShapeProto.Types.Dim { Size = 3 } } },
            TensorContent = ByteString.CopyFrom(bytes),
        };
        var v = new Summary.Types.Value { Tag = tag, Tensor = tensor };
        if (withMetadata)
            v.Metadata = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "histograms" } };
        return new Event { Step = step, WallTime = wallTime, Summary = new Summary { Value = { v } } };
    }

    /// <summary>PyTorch's <c>SummaryWriter.add_scalar</c>: simple_value.</summary>
    public static Event SimpleScalar(string tag, long step, double wallTime, float value) =>
        new() { Step = step, WallTime = wallTime, Summary = new Summary { Value = { new Summary.Types.Value { Tag = tag, SimpleValue = value } } } };

    /// <summary>PyTorch's <c>add_histogram</c>: a HistogramProto with right bucket limits, padded with empty buckets.</summary>
    public static Event Histo(string tag, long step, double wallTime, double min, double max, double[] limits, double[] counts) =>
        new()
        {
            Step = step, WallTime = wallTime,
            Summary = new Summary
            {
                Value =
                {
                    new Summary.Types.Value
                    {
                        Tag = tag,
                        Histo = new HistogramProto { Min = min, Max = max, Num = counts.Sum(), BucketLimit = { limits }, Bucket = { counts } },
                    },
                },
            },
        };

    public static void Write(string path, IEnumerable<Event> events)
    {
        using var f = File.Create(path);
        foreach (var e in events) f.Write(Frame(e));
    }
}
