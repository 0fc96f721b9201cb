using System.Buffers.Binary;
using Google.Protobuf;
using ModelVis.Runs.Proto;

namespace ModelVis.Runs;

/// <summary>
/// TensorBoard event files (<c>events.out.tfevents.*</c>): TFRecords of <see cref="Event"/> protos. Scalars come as
/// the old <c>simple_value</c> or as TF2's tensor-valued summaries of the <c>scalars</c> plugin; histograms as the
/// old <c>histo</c> (<see cref="HistogramProto"/>) or as TF2's <c>[k, 3]</c> tensors (left edge, right edge, count)
/// of the <c>histograms</c> plugin. Summaries of other plugins (images, text, hparams, …) are counted and passed over.
/// </summary>
public static class EventFileReader
{
    public static bool IsEventFile(string path) => System.IO.Path.GetFileName(path).Contains("tfevents", StringComparison.Ordinal);

    /// <summary>Reads <paramref name="path"/> from byte <paramref name="start"/> into <paramref name="run"/>; returns the offset to resume from.</summary>
    public static long Read(string path, RunData run, long start = 0, CancellationToken cancel = default)
    {
        var scan = TFRecordReader.Read(path, start, (offset, data) => AddRecord(path, offset, data, run), cancel);
        run.Problems.AddRange(scan.Problems);
        if (scan.TruncatedAt is { } cut)
            run.Notes.Add($"{System.IO.Path.GetFileName(path)}: the last record (at byte {cut}) is incomplete — the run is probably still writing");
        run.Cursor.Files[path] = new FilePosition(scan.End);
        return scan.End;
    }

    static void AddRecord(string path, long offset, ReadOnlySpan<byte> data, RunData run)
    {
        Event ev;
        try { ev = Event.Parser.ParseFrom(data); }
        catch (InvalidProtocolBufferException e)
        {
            run.Problems.Add(new RecordProblem(path, offset, $"not an Event proto ({e.Message}); record skipped"));
            return;
        }
        if (ev.WhatCase != Event.WhatOneofCase.Summary) return;
        foreach (var v in ev.Summary.Value)
        {
            try { AddValue(ev, v, run); }
            catch (RunFormatException e) { run.Problems.Add(new RecordProblem(path, offset, $"tag `{v.Tag}`: {e.Message}; value skipped")); }
        }
    }

    static void AddValue(Event ev, Summary.Types.Value v, RunData run)
    {
        string tag = v.Tag.Length > 0 ? v.Tag : v.NodeName;
        if (v.Metadata?.PluginData?.PluginName is { Length: > 0 } named) run.Cursor.Plugins[tag] = named;
        run.Cursor.Plugins.TryGetValue(tag, out var plugin);
        switch (v.ValueCase)
        {
            case Summary.Types.Value.ValueOneofCase.SimpleValue:
                run.Scalar(tag).Add(ev.Step, v.SimpleValue, ev.WallTime);
                break;
            case Summary.Types.Value.ValueOneofCase.Histo:
                run.Histogram(tag).Steps.Add(FromHistogramProto(v.Histo, ev.Step, ev.WallTime));
                break;
            case Summary.Types.Value.ValueOneofCase.Tensor when plugin == "scalars"
                || (plugin is null && v.Metadata?.DataClass == DataClass.Scalar):
                var values = TensorValues(v.Tensor);
                if (values.Length != 1) throw new RunFormatException($"a scalar summary holds {values.Length} values");
                run.Scalar(tag).Add(ev.Step, values[0], ev.WallTime);
                break;
            case Summary.Types.Value.ValueOneofCase.Tensor when plugin == "histograms":
                run.Histogram(tag).Steps.Add(FromHistogramTensor(v.Tensor, ev.Step, ev.WallTime));
                break;
            default:
                var kind = plugin ?? v.ValueCase.ToString().ToLowerInvariant();
                run.SkippedPlugins[kind] = run.SkippedPlugins.GetValueOrDefault(kind) + 1;
                break;
        }
    }

    static HistogramStep FromHistogramProto(HistogramProto h, long step, double wallTime)
    {
        int n = Math.Min(h.BucketLimit.Count, h.Bucket.Count);
        // Writers pad with empty buckets out to ±DBL_MAX; keep the buckets between the first and last non-empty ones.
        int first = 0, last = n - 1;
        while (first < n && h.Bucket[first] == 0) first++;
        while (last >= first && h.Bucket[last] == 0) last--;
        if (first > last) return new HistogramStep(step, wallTime, [], [], []);
        int k = last - first + 1;
        var left = new double[k];
        var right = new double[k];
        var counts = new double[k];
        for (int i = 0; i < k; i++)
        {
            int b = first + i;
            left[i] = b == 0 ? h.Min : h.BucketLimit[b - 1];
            right[i] = h.BucketLimit[b];
            counts[i] = h.Bucket[b];
        }
        // The outer edges are the observed extremes, not the padding limits.
        left[0] = Math.Max(left[0], h.Min);
        right[k - 1] = Math.Min(right[k - 1], h.Max);
        if (left[0] > right[k - 1]) left[0] = right[k - 1];
        return new HistogramStep(step, wallTime, left, right, counts);
    }

    static HistogramStep FromHistogramTensor(TensorProto t, long step, double wallTime)
    {
        var dims = t.TensorShape?.Dim.Select(d => d.Size).ToArray() ?? [];
        var values = TensorValues(t);
        if (dims.Length != 2 || dims[1] != 3 || values.Length != dims[0] * 3)
            throw new RunFormatException($"a histogram tensor should have shape [k, 3], not [{string.Join(", ", dims)}] with {values.Length} values");
        int k = (int)dims[0];
        var left = new double[k];
        var right = new double[k];
        var counts = new double[k];
        for (int i = 0; i < k; i++)
        {
            left[i] = values[3 * i];
            right[i] = values[3 * i + 1];
            counts[i] = values[3 * i + 2];
        }
        return new HistogramStep(step, wallTime, left, right, counts);
    }

    /// <summary>A numeric tensor's elements as doubles, from <c>tensor_content</c> or the typed value fields.</summary>
    public static double[] TensorValues(TensorProto t)
    {
        long count = 1;
        foreach (var d in t.TensorShape?.Dim ?? []) count *= d.Size;
        if (count < 0 || count > 1 << 28) throw new RunFormatException($"tensor of {count} elements");
        var content = t.TensorContent.Span;
        if (content.Length > 0)
        {
            int size = t.Dtype switch
            {
                DataType.DtFloat or DataType.DtInt32 or DataType.DtUint32 => 4,
                DataType.DtDouble or DataType.DtInt64 or DataType.DtUint64 => 8,
                DataType.DtHalf or DataType.DtBfloat16 or DataType.DtInt16 or DataType.DtUint16 => 2,
                DataType.DtInt8 or DataType.DtUint8 or DataType.DtBool => 1,
                _ => throw new RunFormatException($"tensor of dtype {t.Dtype} is not numeric"),
            };
            if (content.Length != count * size)
                throw new RunFormatException($"tensor_content has {content.Length} bytes for {count} elements of {size} bytes");
            var r = new double[count];
            for (int i = 0; i < r.Length; i++)
            {
                var e = content.Slice(i * size, size);
                r[i] = t.Dtype switch
                {
                    DataType.DtFloat => BinaryPrimitives.ReadSingleLittleEndian(e),
                    DataType.DtDouble => BinaryPrimitives.ReadDoubleLittleEndian(e),
                    DataType.DtInt32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                    DataType.DtUint32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                    DataType.DtInt64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                    DataType.DtUint64 => BinaryPrimitives.ReadUInt64LittleEndian(e),
                    DataType.DtHalf => (double)BinaryPrimitives.ReadHalfLittleEndian(e),
                    DataType.DtBfloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(e) << 16),
                    DataType.DtInt16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                    DataType.DtUint16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                    DataType.DtInt8 => (sbyte)e[0],
                    _ => e[0],
                };
            }
            return r;
        }
        IEnumerable<double> typed = t.Dtype switch
        {
            DataType.DtFloat => t.FloatVal.Select(x => (double)x),
            DataType.DtDouble => t.DoubleVal,
            DataType.DtInt32 or DataType.DtInt16 or DataType.DtInt8 or DataType.DtUint8 or DataType.DtUint16 => t.IntVal.Select(x => (double)x),
            DataType.DtInt64 => t.Int64Val.Select(x => (double)x),
            DataType.DtUint32 => t.Uint32Val.Select(x => (double)x),
            DataType.DtUint64 => t.Uint64Val.Select(x => (double)x),
            DataType.DtBool => t.BoolVal.Select(x => x ? 1.0 : 0.0),
            DataType.DtHalf => t.HalfVal.Select(x => (double)BitConverter.UInt16BitsToHalf((ushort)x)),
            DataType.DtBfloat16 => t.HalfVal.Select(x => (double)BitConverter.Int32BitsToSingle(x << 16)),
            _ => throw new RunFormatException($"tensor of dtype {t.Dtype} is not numeric"),
        };
        var list = typed.ToArray();
        // A typed field may hold one value standing for every element (TensorFlow's fill convention).
        if (list.Length == 1 && count > 1) return Enumerable.Repeat(list[0], (int)count).ToArray();
        if (list.Length != count) throw new RunFormatException($"tensor of {count} elements has {list.Length} values");
        return list;
    }
}
