using System.Runtime.CompilerServices;
using System.Text;
using ModelVis.IO;
using ModelVis.Checkpoints.PyTorch;

[assembly: InternalsVisibleTo("ModelVis.Checkpoints.Tests")]

namespace ModelVis.Checkpoints;

/// <summary>
/// A PyTorch checkpoint in the zip format <c>torch.save</c> writes since 1.6 (<c>pytorch_model.bin</c>,
/// <c>.pt</c>, <c>.pth</c>, Lightning <c>.ckpt</c>): <c>&lt;prefix&gt;/data.pkl</c> describes the objects,
/// <c>&lt;prefix&gt;/data/&lt;key&gt;</c> holds each storage's raw bytes, <c>&lt;prefix&gt;/byteorder</c> says
/// their endianness. <c>data.pkl</c> is read by a restricted unpickler that never executes anything.
/// </summary>
/// <remarks>
/// Tensor names: a plain state dict gives its keys; a dict with a top-level <c>state_dict</c> (Lightning and
/// many training scripts) gives that dict's keys, and everything beside it (optimizer state, callbacks,
/// hyper-parameters) is ignored; other nested dicts and lists give dotted paths (<c>model.fc.weight</c>,
/// <c>optimizer.state.0.exp_avg</c>). Opening reads only the zip directory and <c>data.pkl</c>; tensor bytes are
/// read from the file by offset when asked for (storages are stored uncompressed). A tensor that is a
/// non-contiguous view is copied through its strides on read.
/// </remarks>
public sealed class PyTorchCheckpoint : ICheckpoint
{
    sealed record Slot(TorchTensor Tensor, ZipDirectory.Entry Entry, int ElementSize, bool Contiguous);

    readonly ZipDirectory _zip;
    readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);
    readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    public string Path { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The folder name inside the zip (<c>archive</c>, or the file's stem for older torch versions).</summary>
    public string ArchivePrefix { get; }

    /// <summary>Where the weights were found: <c>state_dict</c> for training checkpoints, or null for a top-level state dict.</summary>
    public string? WeightsKey { get; }

    /// <summary>Classes of pickled metadata objects that were skipped (never constructed), e.g. Lightning callbacks.</summary>
    public IReadOnlyList<string> IgnoredObjects { get; }

    string FileName => System.IO.Path.GetFileName(Path);

    public PyTorchCheckpoint(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        CheckMagic();
        _zip = new ZipDirectory(Path);
        try
        {
            var pkl = _zip.Entries.Values
                .Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.IndexOf('/') == e.Name.Length - "/data.pkl".Length)
                .OrderBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault()
                ?? _zip.Entries.GetValueOrDefault("data.pkl")
                ?? throw new CheckpointException($"{FileName}: a zip archive without data.pkl, so not a PyTorch checkpoint (entries: {string.Join(", ", _zip.Entries.Keys.Take(5))}{(_zip.Entries.Count > 5 ? ", …" : "")})");
            ArchivePrefix = pkl.Name.Length > "data.pkl".Length ? pkl.Name[..^"/data.pkl".Length] : "";
            string Entry(string rest) => ArchivePrefix.Length > 0 ? ArchivePrefix + "/" + rest : rest;

            if (_zip.Entries.TryGetValue(Entry("byteorder"), out var bo))
            {
                if (bo.Length > 16) throw new CheckpointException($"{FileName}: the byteorder entry is {bo.Length} bytes long (corrupt file)");
                var order = Encoding.ASCII.GetString(_zip.ReadAll(bo)).Trim();
                if (order != "little")
                    throw new CheckpointException($"{FileName}: storages are {order}-endian; ModelVis reads little-endian checkpoints only (load and re-save it with torch.save on a little-endian machine)");
            }
            if (pkl.Length > MaxPickleBytes)
                throw new CheckpointException($"{FileName}: data.pkl is {pkl.Length} bytes, over the {MaxPickleBytes >> 20} MB limit; a state dict's pickle is a few MB at most (tensors live beside it)");

            var unpickler = new RestrictedUnpickler(_zip.ReadAll(pkl), FileName);
            var root = unpickler.Load();

            object? weights = root;
            if (root is PyDict d && d.TryGet("state_dict", out var sd) && sd is PyDict)
            {
                weights = sd;
                WeightsKey = "state_dict";
                IgnoredObjects = unpickler.Placeholders;
            }
            else
            {
                if (unpickler.Placeholders.Count > 0)
                    throw new CheckpointException($"{FileName}: data.pkl holds a pickled Python object of class `{unpickler.Placeholders[0]}` (for example a whole model saved with torch.save(model)); ModelVis reads only state dicts and never constructs pickled objects. Re-save it with torch.save(model.state_dict(), path)");
                IgnoredObjects = [];
            }

            if (TreeSize(weights, new Dictionary<object, long>(ReferenceEqualityComparer.Instance), 0) > MaxVisits)
                throw new CheckpointException($"{FileName}: data.pkl describes more than {MaxVisits:N0} objects once its shared references are followed; no state dict is that large, so it is refused as hostile or corrupt");
            var found = new List<(string Name, TorchTensor Tensor)>();
            int visits = 0;
            Collect(weights, "", found, 0, ref visits);
            if (found.Count == 0)
                throw new CheckpointException($"{FileName}: no tensors found in data.pkl{(WeightsKey != null ? " under `state_dict`" : "")}");

            var byStorage = found.GroupBy(f => f.Tensor.Storage.Key).ToDictionary(g => g.Key, g => g.Select(x => x.Name).ToArray());
            var infos = new List<TensorInfo>(found.Count);
            var positionInGroup = new Dictionary<string, int>(StringComparer.Ordinal); // groups list names in `found` order
            foreach (var (name, t) in found)
            {
                if (_byName.ContainsKey(name))
                    throw new CheckpointException($"{FileName}: two tensors are both named `{name}`");
                var entryName = Entry("data/" + t.Storage.Key);
                if (!_zip.Entries.TryGetValue(entryName, out var entry))
                    throw new CheckpointException($"{FileName}: tensor `{name}`: its storage `{entryName}` is missing from the zip archive (truncated or incomplete file)");
                _zip.Locate(entry);
                int size = t.DType.Size();
                if (entry.Length % size != 0)
                    throw new CheckpointException($"{FileName}: tensor `{name}`: storage `{entryName}` has {entry.Length} bytes, not a whole number of {t.DType.Name()} elements");
                long storageElems = entry.Length / size;
                long count = Count(t.Shape, name);
                if (count > 0)
                {
                    long last;
                    try
                    {
                        last = t.StorageOffset;
                        for (int i = 0; i < t.Shape.Length; i++) last = checked(last + (t.Shape[i] - 1) * t.Strides[i]);
                    }
                    catch (OverflowException) { last = long.MaxValue; }
                    if (last >= storageElems)
                        throw new CheckpointException($"{FileName}: tensor `{name}` (shape {Show(t.Shape)}, stride {Show(t.Strides)}, offset {t.StorageOffset}) reaches element {last} but its storage `{entryName}` has {storageElems} elements (corrupt file)");
                }
                bool contiguous = IsContiguous(t.Shape, t.Strides);
                // One list per storage, seen by each tensor without itself: copying it per tensor is quadratic in the
                // tensors that share a storage, which a hostile pickle makes as many as it likes.
                var group = byStorage[t.Storage.Key];
                int self = positionInGroup.GetValueOrDefault(t.Storage.Key);
                positionInGroup[t.Storage.Key] = self + 1;
                IReadOnlyList<string> shared = group.Length == 1 ? [] : new AllBut(group, self);
                long byteLength, dataOffset;
                // Checked: a view (stride 0 makes any shape fit a one-element storage) whose byte size wraps.
                try { byteLength = checked(count * size); dataOffset = checked(entry.DataOffset + t.StorageOffset * size); }
                catch (OverflowException) { throw new CheckpointException($"{FileName}: tensor `{name}` (shape {Show(t.Shape)} of {t.DType.Name()}, stride {Show(t.Strides)}) is too large: its byte size overflows 64 bits"); }
                var info = new TensorInfo(name, t.DType, t.Shape, Path, dataOffset, byteLength)
                {
                    Layout = new TensorLayout(entryName, t.StorageOffset, t.Strides, contiguous, shared),
                };
                _byName[name] = info;
                _slots[name] = new Slot(t, entry, size, contiguous);
                infos.Add(info);
            }
            Tensors = infos;
        }
        catch
        {
            _zip.Dispose();
            throw;
        }
    }

    static string Show(long[] v) => "[" + string.Join(", ", v) + "]";

    long Count(long[] shape, string name)
    {
        try { return shape.Aggregate(1L, (a, b) => checked(a * b)); }
        catch (OverflowException) { throw new CheckpointException($"{FileName}: tensor `{name}` has an impossibly large shape {Show(shape)}"); }
    }

    /// <summary>Row-major contiguity, ignoring dimensions of size 1 (whose stride does not matter).</summary>
    static bool IsContiguous(long[] shape, long[] strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 0) return true;
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>data.pkl holds names, shapes and storage keys only; tensors' bytes live beside it.</summary>
    internal const long MaxPickleBytes = 256L << 20;

    /// <summary>
    /// Nodes visited while collecting tensors. The pickle's objects form a graph: memo references let one list be
    /// an item of another many times over, so a 1 KB pickle describes a tree of 2^60 nodes (the "billion laughs").
    /// Unpickling is bounded by its work budget; the walk over the tree is bounded here (TreeSize before it, and
    /// the visits it counts, which also bound a walk that TreeSize undercounts below the refused depth).
    /// </summary>
    internal const int MaxVisits = 1 << 22;

    /// <summary>
    /// The number of nodes the walk below would visit, counted on the graph (each shared container once) so a billion
    /// laughs is refused at once instead of after MaxVisits name-building visits; saturates past MaxVisits. Past the
    /// depth Collect refuses it stops counting and leaves the refusal, with its location, to Collect.
    /// </summary>
    static long TreeSize(object? value, Dictionary<object, long> sizes, int depth)
    {
        if (depth > 64 || value is not (PyDict or PyList or PyTuple)) return 1;
        if (sizes.TryGetValue(value, out long known)) return known;
        IEnumerable<object?> children = value switch
        {
            PyDict d => d.Items.Select(kv => kv.Value),
            PyList l => l.Items,
            _ => ((PyTuple)value).Items,
        };
        long size = 1;
        foreach (var child in children)
            if ((size += TreeSize(child, sizes, depth + 1)) > MaxVisits) break;
        return sizes[value] = Math.Min(size, MaxVisits + 1L);
    }

    void Collect(object? value, string prefix, List<(string, TorchTensor)> into, int depth, ref int visits)
    {
        if (depth > 64) throw new CheckpointException($"{FileName}: objects nested more than 64 deep at `{prefix}`");
        if (++visits > MaxVisits)
            throw new CheckpointException($"{FileName}: data.pkl describes more than {MaxVisits:N0} objects once its shared references are followed (at `{prefix}`); no state dict is that large, so it is refused as hostile or corrupt");
        string Join(string key) => prefix.Length == 0 ? key : prefix + "." + key;
        switch (value)
        {
            case TorchTensor t:
                into.Add((prefix.Length == 0 ? "tensor" : prefix, t));
                break;
            case PyDict d:
                foreach (var (k, v) in d.Items) Collect(v, Join(KeyText(k)), into, depth + 1, ref visits);
                break;
            case PyList l:
                for (int i = 0; i < l.Items.Count; i++) Collect(l.Items[i], Join(i.ToString()), into, depth + 1, ref visits);
                break;
            case PyTuple tu:
                for (int i = 0; i < tu.Items.Length; i++) Collect(tu.Items[i], Join(i.ToString()), into, depth + 1, ref visits);
                break;
            case PyOpaque o:
                throw new CheckpointException($"{FileName}: `{(prefix.Length == 0 ? "(root)" : prefix)}` is a pickled `{o.Global}` object, not a tensor; ModelVis never constructs pickled objects. Save a plain state dict with torch.save(model.state_dict(), path)");
            case TorchStorage s:
                throw new CheckpointException($"{FileName}: `{prefix}` is a bare storage (`{s.StorageType}`), not a tensor");
            default:
                break; // numbers, strings, None, … beside the weights
        }
    }

    /// <summary>Keys longer than this are cut: a tuple key whose items are memo references to one wide tuple would
    /// otherwise spell out (width)^depth items.</summary>
    const int MaxKeyText = 1024;

    static string KeyText(object? k)
    {
        var sb = new StringBuilder();
        AppendKey(sb, k, 0);
        return sb.Length > MaxKeyText ? sb.ToString(0, MaxKeyText) + "…" : sb.ToString();
    }

    static void AppendKey(StringBuilder sb, object? k, int depth)
    {
        if (sb.Length > MaxKeyText) return;
        switch (k)
        {
            case string s: sb.Append(s.Length > MaxKeyText ? s[..MaxKeyText] : s); break;
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case PyTuple t when depth < 8:
                sb.Append('(');
                for (int i = 0; i < t.Items.Length && sb.Length <= MaxKeyText; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendKey(sb, t.Items[i], depth + 1);
                }
                sb.Append(')');
                break;
            case PyTuple: sb.Append("(…)"); break;
            case long or double or System.Numerics.BigInteger:
                sb.Append(Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture) ?? "?"); break;
            default: sb.Append('<').Append(k.GetType().Name).Append('>'); break;
        }
    }

    /// <summary>The names of a storage's tensors but one, without copying them.</summary>
    sealed class AllBut(string[] names, int skip) : IReadOnlyList<string>
    {
        public int Count => names.Length - 1;
        public string this[int i] => names[i >= skip ? i + 1 : i];
        public IEnumerator<string> GetEnumerator()
        {
            for (int i = 0; i < Count; i++) yield return this[i];
        }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Refuses files that are not zip archives with a message saying what they are.</summary>
    void CheckMagic()
    {
        Span<byte> head = stackalloc byte[512];
        int n;
        long length;
        InputFile.RequireRegular(Path, m => new CheckpointException(m));
        using (var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            length = fs.Length;
            n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        head = head[..n];
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 5 && head[3] == 6)
            throw new CheckpointException($"{FileName}: an empty zip archive, not a PyTorch checkpoint");
        // The legacy format (torch < 1.6): a pickled magic number 0x1950a86a20f9469cfc6c (LONG1, 10 bytes).
        ReadOnlySpan<byte> legacy = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
        bool isLegacy = n >= 2 + legacy.Length && head[0] == 0x80 && head.Slice(2, legacy.Length).SequenceEqual(legacy);
        bool isTar = n >= 262 && Encoding.ASCII.GetString(head.Slice(257, 5)) == "ustar";
        if (isLegacy || isTar)
            throw new CheckpointException($"{FileName}: saved in PyTorch's legacy {(isTar ? "tar" : "pickle")} format (torch < 1.6), which ModelVis does not read because loading it means running its pickle. Convert it once with a trusted PyTorch: python -c \"import torch; torch.save(torch.load('{FileName}', map_location='cpu'), 'converted.pt')\" (only for files you trust), or save it as safetensors");
        if (n >= 9 && BitConverter.ToUInt64(head) is var hl && hl > 1 && hl < (ulong)length && head[8] == '{')
            throw new CheckpointException($"{FileName}: this is a safetensors file with a PyTorch extension; rename it to .safetensors");
        if (n >= 1 && head[0] == 0x80)
            throw new CheckpointException($"{FileName}: a bare pickle, not a PyTorch zip checkpoint; ModelVis reads only the zip format torch.save writes since PyTorch 1.6");
        throw new CheckpointException($"{FileName}: not a PyTorch checkpoint (no zip signature at the start{(length == 0 ? "; the file is empty" : "")})");
    }

    public bool TryGet(string name, out TensorInfo info) => _byName.TryGetValue(name, out info!);

    public void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        if (!_slots.TryGetValue(tensor.Name, out var slot))
            throw new CheckpointException($"{FileName}: no tensor named `{tensor.Name}`");
        if (byteOffset < 0 || byteOffset + destination.Length > tensor.ByteLength) throw new ArgumentOutOfRangeException(nameof(byteOffset));
        if (destination.Length == 0) return;
        int size = slot.ElementSize;
        if (slot.Contiguous)
        {
            _zip.Read(slot.Entry, slot.Tensor.StorageOffset * size + byteOffset, destination);
            return;
        }
        // A strided view: gather whole elements covering the requested bytes, then copy the range out.
        long first = byteOffset / size, end = (byteOffset + destination.Length + size - 1) / size;
        byte[] gathered = new byte[checked((end - first) * size)];
        Gather(slot, first, end, gathered);
        gathered.AsSpan((int)(byteOffset - first * size), destination.Length).CopyTo(destination);
    }

    /// <summary>Copies elements [first, end) of a strided tensor, in row-major order, into <paramref name="into"/>.</summary>
    void Gather(Slot slot, long first, long end, byte[] into)
    {
        var t = slot.Tensor;
        int rank = t.Shape.Length, size = slot.ElementSize;
        // Multi-index of element `first`.
        var index = new long[rank];
        long rem = first;
        for (int i = rank - 1; i >= 0; i--) { index[i] = rem % t.Shape[i]; rem /= t.Shape[i]; }
        long Position() { long p = t.StorageOffset; for (int i = 0; i < rank; i++) p += index[i] * t.Strides[i]; return p; }

        // The storage window the whole view spans, read once and kept for the next chunks of the same tensor.
        long lo = t.StorageOffset, hi = t.StorageOffset;
        for (int i = 0; i < rank; i++) hi += (t.Shape[i] - 1) * t.Strides[i];
        byte[]? window = null;
        if ((hi - lo + 1) * size <= WindowLimitBytes)
        {
            lock (_windowLock)
            {
                if (!ReferenceEquals(_windowOwner, slot))
                {
                    var w = new byte[(hi - lo + 1) * size];
                    _zip.Read(slot.Entry, lo * size, w);
                    (_windowOwner, _window) = (slot, w);
                }
                window = _window;
            }
        }
        if (window != null)
        {
            for (long e = first, o = 0; e < end; e++, o += size)
            {
                window.AsSpan((int)((Position() - lo) * size), size).CopyTo(into.AsSpan((int)o, size));
                Next(index, t.Shape);
            }
            return;
        }
        // A view too large to buffer whole: read runs of consecutive storage elements (rows of a slice, say)
        // with one read each. A compressed storage is inflated from its start for every run that goes backwards,
        // which for a transposed view is once per element: refused rather than left to run for hours.
        if (!slot.Entry.IsStored)
            throw new CheckpointException($"{FileName}: a tensor viewing storage `{t.Storage.Key}` is a strided view of a compressed storage larger than {WindowLimitBytes >> 20} MB; re-save the checkpoint with torch.save (which stores storages uncompressed)");
        long runStart = -1, runLength = 0, runOut = 0;
        for (long e = first, o = 0; e < end; e++, o += size)
        {
            long pos = Position();
            if (runLength > 0 && pos == runStart + runLength && runLength < 1 << 20) runLength++;
            else
            {
                if (runLength > 0) _zip.Read(slot.Entry, runStart * size, into.AsSpan((int)runOut, (int)(runLength * size)));
                (runStart, runLength, runOut) = (pos, 1, o);
            }
            Next(index, t.Shape);
        }
        if (runLength > 0) _zip.Read(slot.Entry, runStart * size, into.AsSpan((int)runOut, (int)(runLength * size)));
    }

    /// <summary>Advances a row-major multi-index by one element.</summary>
    static void Next(long[] index, long[] shape)
    {
        for (int i = index.Length - 1; i >= 0; i--)
        {
            if (++index[i] < shape[i]) return;
            index[i] = 0;
        }
    }

    /// <summary>Strided views spanning at most this many storage bytes are buffered whole while they are read.</summary>
    internal long WindowLimitBytes { get; set; } = 256L << 20;

    readonly object _windowLock = new();
    Slot? _windowOwner;
    byte[]? _window;

    public void Dispose() => _zip.Dispose();
}
