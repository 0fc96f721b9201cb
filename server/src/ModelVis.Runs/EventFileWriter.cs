using Google.Protobuf;
using ModelVis.Runs.Proto;

namespace ModelVis.Runs;

/// <summary>
/// Writes a TensorBoard event file as TensorBoard and PyTorch name and frame it
/// (<c>events.out.tfevents.&lt;seconds&gt;.&lt;host&gt;.&lt;pid&gt;.0</c>: a <c>file_version</c> record, then one Event per
/// scalar with <c>simple_value</c>, the <c>scalars</c> plugin named on a tag's first value). Each record is flushed
/// as it is written, so a reader following the file sees it at once.
/// </summary>
public sealed class EventFileWriter : IDisposable
{
    readonly FileStream _stream;
    readonly HashSet<string> _described = new(StringComparer.Ordinal);

    public string Path { get; }

    EventFileWriter(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        Write(new Event { WallTime = Now(), FileVersion = "brain.Event:2" });
    }

    /// <summary>A new event file in <paramref name="folder"/> (created if needed).</summary>
    public static EventFileWriter Create(string folder)
    {
        Directory.CreateDirectory(folder);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = string.Concat(Environment.MachineName.Where(char.IsAsciiLetterOrDigit)) is { Length: > 0 } h ? h : "host";
        for (int n = 0; ; n++)
        {
            var path = System.IO.Path.Combine(folder, $"events.out.tfevents.{seconds}.{host}.{Environment.ProcessId}.{n}");
            if (!File.Exists(path)) return new EventFileWriter(path);
        }
    }

    public void AddScalar(string tag, long step, double value, double? wallTime = null)
    {
        var v = new Summary.Types.Value { Tag = tag, SimpleValue = (float)value };
        if (_described.Add(tag))
            v.Metadata = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "scalars" } };
        Write(new Event { WallTime = wallTime ?? Now(), Step = step, Summary = new Summary { Value = { v } } });
    }

    void Write(Event e)
    {
        TFRecordReader.Write(_stream, e.ToByteArray());
        _stream.Flush();
    }

    static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public void Dispose() => _stream.Dispose();
}
