using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace ModelVis.Checkpoints.PyTorch;

// The Python values the unpickler builds. Nothing here is ever executed: a "call" in the pickle stream
// (REDUCE, NEWOBJ, …) is interpreted only for the handful of globals torch.save writes; everything else
// is refused, or — for the metadata of training checkpoints — kept as an inert placeholder.

internal sealed record PyTuple(object?[] Items);
internal sealed class PyList(List<object?> items) { public List<object?> Items { get; } = items; }
internal sealed class PySet(List<object?> items) { public List<object?> Items { get; } = items; }

/// <summary>A dict or OrderedDict, keeping insertion order.</summary>
internal sealed class PyDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = new();
    readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);

    public void Set(object? key, object? value)
    {
        if (key is string s)
        {
            if (_stringKeys.TryGetValue(s, out int i)) { Items[i] = new(key, value); return; }
            _stringKeys[s] = Items.Count;
        }
        Items.Add(new(key, value));
    }

    public bool TryGet(string key, out object? value)
    {
        if (_stringKeys.TryGetValue(key, out int i)) { value = Items[i].Value; return true; }
        value = null;
        return false;
    }
}

/// <summary>A resolved global: one the reader understands (<see cref="Kind"/>) or an inert placeholder.</summary>
internal sealed record PyGlobal(string Module, string Name, GlobalKind Kind, DType StorageDType = default)
{
    public string FullName => Module + "." + Name;
}

internal enum GlobalKind
{
    OrderedDict, RebuildTensor, RebuildTensorV3, RebuildParameter, RebuildFromType, TensorType, Storage,
    Device, Size, TorchDType, Set, FrozenSet, CodecsEncode, Placeholder,
}

/// <summary>An object of a class the reader does not construct (training metadata); only its class name is kept.</summary>
internal sealed record PyOpaque(string Global);

/// <summary>The persistent id <c>('storage', type, key, location, numel)</c> of a storage in the archive.</summary>
internal sealed record TorchStorage(DType DType, string StorageType, string Key, string Location, long Numel);

/// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a view into a storage.</summary>
/// <remarks>Offset and strides count elements of <see cref="DType"/>, which is the storage's own type except
/// for <c>_rebuild_tensor_v3</c> (torch 2.x, a typed view of an untyped storage).</remarks>
internal sealed record TorchTensor(TorchStorage Storage, long StorageOffset, long[] Shape, long[] Strides, DType DType);

/// <summary>
/// A restricted unpickler for <c>data.pkl</c> of PyTorch checkpoints: protocols 0–5 as far as torch.save
/// emits them. Globals are resolved by a fixed table; a global outside it is refused with a
/// <see cref="CheckpointException"/> naming it, except for the classes of training metadata (Lightning
/// callbacks, pickled modules in hyper-parameters, …), which become inert <see cref="PyOpaque"/> placeholders
/// so that the weights beside them can still be read. Globals that can run code when torch.load opens the
/// file (<c>os.system</c>, <c>builtins.eval</c>, <c>subprocess.Popen</c>, …) are always refused.
/// Nothing is ever imported, called or executed.
/// </summary>
internal sealed class RestrictedUnpickler
{
    // Limits that no pickle torch.save writes comes near (a state dict of 100,000 tensors takes about 6 million
    // units of work), and that keep a hostile pickle's memory and time bounded: without them a kilobyte of
    // MARK/DUP/MEMOIZE/APPENDS opcodes grows without end, and memo references copied into containers amplify.
    internal const int MaxStack = 1 << 20;
    internal const int MaxMemo = 1 << 20;
    internal const int MaxMarks = 1 << 16;
    /// <summary>Objects made plus items moved or copied into containers, over the whole pickle.</summary>
    internal const long MaxWork = 1 << 24;
    internal const int MaxTensorRank = 64;
    /// <summary>Python's own limit on the digits of an integer read from text (sys.int_info.default_max_str_digits).</summary>
    const int MaxIntegerDigits = 4300;
    const int MaxLongBytes = 1024;

    long _work;
    readonly HashSet<string> _placeholderSet = new(StringComparer.Ordinal);
    readonly byte[] _data;
    readonly string _file;
    int _pos;
    readonly List<object?> _stack = new();
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = new();

    /// <summary>The classes kept as placeholders, in order of first appearance.</summary>
    public List<string> Placeholders { get; } = new();

    public RestrictedUnpickler(byte[] data, string fileName)
    {
        _data = data;
        _file = fileName;
    }

    CheckpointException Error(string what) => new($"{_file}: data.pkl: {what}");
    CheckpointException Truncated() => Error($"the pickle ends early at byte {_pos} (truncated or corrupt)");

    byte ReadByte() => _pos < _data.Length ? _data[_pos++] : throw Truncated();

    ReadOnlySpan<byte> ReadBytes(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Truncated();
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    string ReadLine()
    {
        int start = _pos;
        while (_pos < _data.Length && _data[_pos] != (byte)'\n') _pos++;
        if (_pos >= _data.Length) throw Truncated();
        var s = Encoding.UTF8.GetString(_data, start, _pos - start);
        _pos++;
        return s;
    }

    /// <summary>Counts work against <see cref="MaxWork"/>: every object made and every item moved or copied.</summary>
    void Spend(long units)
    {
        _work += units;
        if (_work > MaxWork)
            throw Error($"the pickle does more than {MaxWork:N0} units of work (objects made and items copied) by byte {_pos}; no state dict needs that many, so it is refused as hostile or corrupt");
    }

    void Push(object? v)
    {
        if (_stack.Count >= MaxStack) throw Error($"the pickle's stack grows past {MaxStack:N0} items at byte {_pos}; refused (hostile or corrupt)");
        Spend(1);
        _stack.Add(v);
    }

    void Memoize(long key, object? v)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(key))
            throw Error($"the pickle's memo grows past {MaxMemo:N0} entries at byte {_pos}; refused (hostile or corrupt)");
        Spend(1);
        _memo[key] = v;
    }

    void AddPlaceholder(string full)
    {
        if (_placeholderSet.Add(full)) Placeholders.Add(full);
    }

    object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks.Peek()))
            throw Error($"stack underflow at byte {_pos - 1} (corrupt pickle)");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error($"stack underflow at byte {_pos - 1} (corrupt pickle)");

    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Error($"no MARK before byte {_pos - 1} (corrupt pickle)");
        int m = _marks.Pop();
        Spend(_stack.Count - m);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    public object? Load()
    {
        while (true)
        {
            int at = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    int proto = ReadByte();
                    if (proto > 5) throw Error($"pickle protocol {proto} is newer than the 5 this reader knows");
                    break;
                case 0x95: ReadBytes(8); break; // FRAME: frames are only a hint for buffering
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Error("the pickle stops with a malformed stack (corrupt pickle)");
                    return _stack[0];
                case (byte)'(':
                    if (_marks.Count >= MaxMarks) throw Error($"more than {MaxMarks:N0} open MARKs at byte {at}; refused (hostile or corrupt)");
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': Push(Peek()); break;

                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break; // LONG4
                case (byte)'I': // INT (text); "I01\n"/"I00\n" are booleans in protocol 0
                {
                    var s = ReadLine();
                    Push(s == "01" ? true : s == "00" ? false : ParseInteger(s));
                    break;
                }
                case (byte)'L': Push(ParseInteger(ReadLine().TrimEnd('L'))); break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;
                case (byte)'F':
                {
                    var s = ReadLine();
                    if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) throw Error($"bad FLOAT `{s}`");
                    Push(d);
                    break;
                }

                case (byte)'X': Push(Utf8(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))); break;
                case 0x8c: Push(Utf8(ReadBytes(ReadByte()))); break;
                case 0x8d: Push(Utf8(ReadBytes(ReadLength8()))); break;
                case (byte)'V': Push(ReadLine()); break; // raw-unicode-escape; torch never writes it
                case (byte)'T': Push(Latin1(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break;
                case (byte)'U': Push(Latin1(ReadBytes(ReadByte()))); break;
                case (byte)'S': Push(ReadLine().Trim('\'', '"')); break;
                case (byte)'B': Push(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))).ToArray()); break;
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;
                case 0x8e: case 0x96: Push(ReadBytes(ReadLength8()).ToArray()); break; // BINBYTES8, BYTEARRAY8

                case (byte)')': Push(new PyTuple([])); break;
                case 0x85: Push(new PyTuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PyTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PyTuple([a, b, c])); break; }
                case (byte)'t': Push(new PyTuple(PopMark().ToArray())); break;
                case (byte)']': Push(new PyList(new())); break;
                case (byte)'l': Push(new PyList(PopMark())); break;
                case (byte)'}': Push(new PyDict()); break;
                case (byte)'d':
                {
                    var items = PopMark();
                    var d = new PyDict();
                    SetItems(d, items);
                    Push(d);
                    break;
                }
                case 0x8f: Push(new PySet(new())); break;
                case 0x91: Push(new PySet(PopMark())); break; // FROZENSET
                case 0x90: // ADDITEMS
                {
                    var items = PopMark();
                    if (Peek() is not PySet set) throw Error($"ADDITEMS on a non-set at byte {at}");
                    set.Items.AddRange(items);
                    break;
                }
                case (byte)'a':
                {
                    var v = Pop();
                    Append(Peek(), [v], at);
                    break;
                }
                case (byte)'e':
                {
                    var items = PopMark();
                    Append(Peek(), items, at);
                    break;
                }
                case (byte)'s':
                {
                    var v = Pop(); var k = Pop();
                    SetItems(Peek(), [k, v]);
                    break;
                }
                case (byte)'u':
                {
                    var items = PopMark();
                    SetItems(Peek(), items);
                    break;
                }

                case (byte)'q': Memoize(ReadByte(), Peek()); break;
                case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), Peek()); break;
                case 0x94: Memoize(_memo.Count, Peek()); break; // MEMOIZE
                case (byte)'p': Memoize(ParseMemoIndex(ReadLine()), Peek()); break;
                case (byte)'h': Push(Memo(ReadByte())); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break;
                case (byte)'g': Push(Memo(ParseMemoIndex(ReadLine()))); break;

                case (byte)'c': // GLOBAL "module\nname\n"
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(Resolve(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop(); var module = Pop();
                    if (module is not string m || name is not string n) throw Error($"STACK_GLOBAL with non-string names at byte {at}");
                    Push(Resolve(m, n));
                    break;
                }
                case (byte)'R': // REDUCE: callable(*args)
                {
                    var args = Pop(); var callable = Pop();
                    Push(Call(callable, args is PyTuple t ? t.Items : throw Error($"REDUCE arguments are not a tuple at byte {at}"), at));
                    break;
                }
                case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                {
                    var args = Pop(); var cls = Pop();
                    Push(Call(cls, args is PyTuple t ? t.Items : throw Error($"NEWOBJ arguments are not a tuple at byte {at}"), at));
                    break;
                }
                case 0x92: // NEWOBJ_EX
                {
                    Pop(); var args = Pop(); var cls = Pop();
                    Push(Call(cls, args is PyTuple t ? t.Items : throw Error($"NEWOBJ_EX arguments are not a tuple at byte {at}"), at));
                    break;
                }
                case (byte)'i': // INST "module\nname\n" + marked args
                {
                    var module = ReadLine(); var name = ReadLine();
                    var g = Resolve(module, name);
                    Push(Call(g, PopMark().ToArray(), at));
                    break;
                }
                case (byte)'o': // OBJ: marked (cls, *args)
                {
                    var items = PopMark();
                    if (items.Count == 0) throw Error($"OBJ without a class at byte {at}");
                    Push(Call(items[0], items.Skip(1).ToArray(), at));
                    break;
                }
                case (byte)'b': // BUILD: obj.__setstate__(state). Objects here carry no state that matters.
                    Pop();
                    Peek();
                    break;
                case (byte)'Q': Push(PersistentLoad(Pop(), at)); break;
                case (byte)'P': Push(PersistentLoad(ReadLine(), at)); break;

                case 0x82: case 0x83: case 0x84:
                    throw Error($"the pickle uses the extension registry (opcode 0x{op:x2} at byte {at}), which torch.save never writes; refused");
                case 0x97: case 0x98:
                    throw Error($"the pickle uses out-of-band buffers (opcode 0x{op:x2} at byte {at}), which torch.save never writes; refused");
                default:
                    throw Error($"unknown pickle opcode 0x{op:x2} at byte {at} (corrupt, or not a pickle)");
            }
        }
    }

    static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
    static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    long ReadLength8()
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
        return n > int.MaxValue ? throw Truncated() : (long)n;
    }

    object ReadLong(int n)
    {
        if (n < 0) throw Error($"negative LONG length at byte {_pos}");
        if (n > MaxLongBytes) throw Error($"a LONG of {n} bytes at byte {_pos}; integers over {MaxLongBytes} bytes are refused");
        var bytes = ReadBytes(n);
        if (n == 0) return 0L;
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
    }

    object ParseInteger(string s) =>
        s.Length > MaxIntegerDigits + 1 ? throw Error($"an integer of {s.Length} digits; over Python's limit of {MaxIntegerDigits}")
        : long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v
        : BigInteger.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b) ? b
        : throw Error($"bad integer `{s}`");

    long ParseMemoIndex(string s) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw Error($"bad memo index `{s}`");

    object? Memo(long i) => _memo.TryGetValue(i, out var v) ? v : throw Error($"memo entry {i} read before it was written (corrupt pickle)");

    void Append(object? target, List<object?> items, int at)
    {
        switch (target)
        {
            case PyList l: Spend(items.Count); l.Items.AddRange(items); break;
            case PySet s: Spend(items.Count); s.Items.AddRange(items); break;
            case PyOpaque: break; // list-like metadata object: contents ignored
            default: throw Error($"APPEND to a {Describe(target)} at byte {at} (corrupt pickle)");
        }
    }

    void SetItems(object? target, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Error($"SETITEMS with an odd number of items at byte {_pos - 1}");
        switch (target)
        {
            case PyDict d:
                Spend(items.Count / 2);
                for (int i = 0; i < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                break;
            case PyOpaque: break; // dict-like metadata object (e.g. a defaultdict): contents ignored
            default: throw Error($"SETITEM on a {Describe(target)} at byte {_pos - 1} (corrupt pickle)");
        }
    }

    static string Describe(object? v) => v switch
    {
        null => "None",
        PyGlobal g => "global " + g.FullName,
        PyOpaque o => o.Global + " object",
        _ => v.GetType().Name,
    };

    // ---- globals ------------------------------------------------------------------------------------------

    static readonly Dictionary<string, DType> StorageTypes = new()
    {
        ["DoubleStorage"] = DType.F64, ["FloatStorage"] = DType.F32, ["HalfStorage"] = DType.F16,
        ["BFloat16Storage"] = DType.BF16, ["LongStorage"] = DType.I64, ["IntStorage"] = DType.I32,
        ["ShortStorage"] = DType.I16, ["CharStorage"] = DType.I8, ["ByteStorage"] = DType.U8,
        ["BoolStorage"] = DType.Bool, ["UntypedStorage"] = DType.U8,
        ["Float8_e4m3fnStorage"] = DType.F8_E4M3, ["Float8_e5m2Storage"] = DType.F8_E5M2,
        ["UInt16Storage"] = DType.U16, ["UInt32Storage"] = DType.U32, ["UInt64Storage"] = DType.U64,
    };

    /// <summary>torch dtype objects (pickled as globals) and the element type each names; null: not read.</summary>
    static readonly Dictionary<string, DType?> TorchDTypeNames = new(StringComparer.Ordinal)
    {
        ["float64"] = DType.F64, ["double"] = DType.F64, ["float32"] = DType.F32, ["float"] = DType.F32,
        ["float16"] = DType.F16, ["half"] = DType.F16, ["bfloat16"] = DType.BF16, ["int64"] = DType.I64, ["long"] = DType.I64,
        ["int32"] = DType.I32, ["int"] = DType.I32, ["int16"] = DType.I16, ["short"] = DType.I16, ["int8"] = DType.I8,
        ["uint8"] = DType.U8, ["bool"] = DType.Bool, ["uint16"] = DType.U16, ["uint32"] = DType.U32, ["uint64"] = DType.U64,
        ["float8_e4m3fn"] = DType.F8_E4M3, ["float8_e5m2"] = DType.F8_E5M2,
        ["complex64"] = null, ["complex128"] = null, ["cfloat"] = null, ["cdouble"] = null,
    };

    /// <summary>Modules whose globals can run code when torch.load opens a file: always refused.</summary>
    static readonly HashSet<string> DangerousModules = new(StringComparer.Ordinal)
    {
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "builtins", "__builtin__", "importlib",
        "runpy", "shutil", "socket", "pickle", "_pickle", "cPickle", "marshal", "code", "codeop", "pty", "ctypes",
        "webbrowser", "commands", "timeit", "pdb", "bdb", "multiprocessing", "asyncio", "operator", "_operator",
        "functools", "types", "io", "_io", "tempfile", "urllib", "http", "requests", "glob", "platform", "signal",
        "threading", "_thread", "getattr", "torch.hub", "torch.serialization", "torch._C", "numpy.testing", "dill",
    };

    /// <summary>Plain value types from otherwise refused modules that training metadata uses; kept as placeholders.</summary>
    static readonly HashSet<string> InertGlobals = new(StringComparer.Ordinal)
    {
        "builtins.object", "builtins.slice", "builtins.range", "builtins.complex", "builtins.bytearray", "builtins.int",
        "builtins.float", "builtins.str", "builtins.bytes", "builtins.bool", "builtins.tuple", "builtins.list", "builtins.dict",
        "__builtin__.object", "__builtin__.slice", "__builtin__.complex", "__builtin__.bytearray", "functools.partial",
    };

    /// <summary>
    /// Modules whose classes may appear in training metadata beside the weights (Lightning callbacks and
    /// hyper-parameters, pickled modules, argparse namespaces, …). They become inert placeholders; a
    /// checkpoint whose weights need them is still refused.
    /// </summary>
    static readonly string[] MetadataModulePrefixes =
    [
        "__main__", "pytorch_lightning", "lightning", "lightning_fabric", "torch.nn", "torch.optim", "torch.utils.data",
        "argparse", "omegaconf", "numpy", "pathlib", "collections", "datetime", "enum", "typing", "copyreg", "transformers",
    ];

    PyGlobal Resolve(string module, string name)
    {
        string full = module + "." + name;
        switch (full)
        {
            case "collections.OrderedDict": return new(module, name, GlobalKind.OrderedDict);
            case "torch._utils._rebuild_tensor_v2": case "torch._utils._rebuild_tensor": return new(module, name, GlobalKind.RebuildTensor);
            case "torch._utils._rebuild_tensor_v3": return new(module, name, GlobalKind.RebuildTensorV3);
            case "torch._utils._rebuild_parameter": case "torch._utils._rebuild_parameter_with_state": return new(module, name, GlobalKind.RebuildParameter);
            case "torch._tensor._rebuild_from_type_v2": return new(module, name, GlobalKind.RebuildFromType);
            case "torch.Tensor": case "torch.nn.parameter.Parameter": case "torch._tensor.Tensor": return new(module, name, GlobalKind.TensorType);
            case "torch.device": return new(module, name, GlobalKind.Device);
            case "torch.Size": return new(module, name, GlobalKind.Size);
            case "builtins.set": case "__builtin__.set": return new(module, name, GlobalKind.Set);
            case "builtins.frozenset": case "__builtin__.frozenset": return new(module, name, GlobalKind.FrozenSet);
            case "_codecs.encode": return new(module, name, GlobalKind.CodecsEncode);
        }
        if (module is "torch" or "torch.storage" && StorageTypes.TryGetValue(name, out var dt))
            return new(module, name, GlobalKind.Storage, dt);
        if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
            throw Error($"storage type `{full}` holds elements ModelVis does not read (complex or quantized); refused");
        if (module == "torch" && TorchDTypeNames.TryGetValue(name, out var tdt)) return new(module, name, GlobalKind.TorchDType, tdt ?? default);
        if (module.StartsWith("__torch__", StringComparison.Ordinal))
            throw Error($"references `{full}`: this is a TorchScript archive (torch.jit.save), not a state dict. Save the weights with torch.save(model.state_dict(), path) instead");

        string top = module.Split('.')[0];
        if (InertGlobals.Contains(full))
        {
            AddPlaceholder(full);
            return new(module, name, GlobalKind.Placeholder);
        }
        if (DangerousModules.Contains(module) || DangerousModules.Contains(top))
            throw Error($"refused the Python global `{full}`: torch.load would call it while opening the file, so it can run arbitrary code (this file may be malicious). ModelVis never executes pickled code; it reads only the globals torch.save writes for tensors");
        if (module.StartsWith("torch._utils", StringComparison.Ordinal) || module.StartsWith("torch._tensor", StringComparison.Ordinal))
            throw Error($"refused the Python global `{full}`: this kind of tensor (quantized, sparse, nested or on the meta device) is not supported; convert it to a plain dense tensor before saving");
        foreach (var prefix in MetadataModulePrefixes)
            if (module == prefix || module.StartsWith(prefix + ".", StringComparison.Ordinal))
            {
                AddPlaceholder(full);
                return new(module, name, GlobalKind.Placeholder);
            }
        throw Error($"refused the Python global `{full}`: it is not one of the globals torch.save writes for tensors (torch._utils._rebuild_tensor_v2, torch.*Storage, collections.OrderedDict, …). ModelVis never executes pickled code; save a plain state dict with torch.save(model.state_dict(), path)");
    }

    object? Call(object? callable, object?[] args, int at)
    {
        if (callable is PyOpaque o) return new PyOpaque(o.Global); // calling a metadata object: still inert
        if (callable is not PyGlobal g) throw Error($"call of a {Describe(callable)} at byte {at} (corrupt pickle)");
        switch (g.Kind)
        {
            case GlobalKind.OrderedDict:
            {
                var d = new PyDict();
                if (args.Length > 0 && args[0] is PyList pairs)
                {
                    Spend(pairs.Items.Count);
                    foreach (var p in pairs.Items)
                        if (p is PyTuple { Items.Length: 2 } kv) d.Set(kv.Items[0], kv.Items[1]);
                }
                return d;
            }
            case GlobalKind.RebuildTensor: return RebuildTensor(args, at, null);
            case GlobalKind.RebuildTensorV3:
                // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
                if (args.Length < 7 || args[6] is not PyGlobal { Kind: GlobalKind.TorchDType } dt)
                    throw Error($"_rebuild_tensor_v3 without a dtype at byte {at}");
                if (TorchDTypeNames[dt.Name] is null)
                    throw Error($"tensor of dtype torch.{dt.Name} at byte {at}: ModelVis does not read complex tensors");
                return RebuildTensor(args, at, dt.StorageDType);
            case GlobalKind.RebuildParameter:
                return args.Length >= 1 && args[0] is TorchTensor t ? t : throw Error($"{g.FullName} without a tensor at byte {at}");
            case GlobalKind.RebuildFromType:
                // _rebuild_from_type_v2(func, new_type, args, state): the tensor is func(*args), where func rebuilds a tensor.
                if (args.Length < 3 || args[2] is not PyTuple inner || args[0] is not PyGlobal { Kind: GlobalKind.RebuildTensor or GlobalKind.RebuildTensorV3 or GlobalKind.RebuildParameter })
                    throw Error($"{g.FullName} with unexpected arguments at byte {at}");
                return Call(args[0], inner.Items, at);
            case GlobalKind.Device:
                Spend(args.Length);
                return args.Length >= 1 ? string.Join(":", args.Where(a => a != null)) : "cpu";
            case GlobalKind.Size:
                return args.Length >= 1 && args[0] is PyTuple size ? size : new PyTuple([]);
            case GlobalKind.Set:
            case GlobalKind.FrozenSet:
                if (args.Length >= 1 && args[0] is PyList copied) Spend(copied.Items.Count);
                return new PySet(args.Length >= 1 && args[0] is PyList l ? new List<object?>(l.Items) : new());
            case GlobalKind.CodecsEncode: // protocol 2 writes bytes as _codecs.encode(text, 'latin1')
                if (args.Length >= 1 && args[0] is string copiedText) Spend(copiedText.Length / 64);
                return args.Length >= 1 && args[0] is string s ? Encoding.Latin1.GetBytes(s) : throw Error($"_codecs.encode with unexpected arguments at byte {at}");
            case GlobalKind.Placeholder:
                return new PyOpaque(g.FullName);
            default:
                throw Error($"`{g.FullName}` is called at byte {at}, which torch.save never does (corrupt or hand-made pickle); refused");
        }
    }

    TorchTensor RebuildTensor(object?[] args, int at, DType? dtype)
    {
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.Length < 4 || args[0] is not TorchStorage storage || args[1] is not long offset
            || args[2] is not PyTuple size || args[3] is not PyTuple stride)
            throw Error($"_rebuild_tensor_v2 with unexpected arguments at byte {at}");
        if (size.Items.Length > MaxTensorRank || stride.Items.Length > MaxTensorRank)
            throw Error($"tensor at byte {at} has {Math.Max(size.Items.Length, stride.Items.Length)} dimensions; PyTorch allows at most {MaxTensorRank}");
        Spend(size.Items.Length + stride.Items.Length);
        var shape = Longs(size, "size", at);
        var strides = Longs(stride, "stride", at);
        if (shape.Length != strides.Length) throw Error($"tensor at byte {at} has size {Show(shape)} but stride {Show(strides)}");
        if (offset < 0 || shape.Any(d => d < 0) || strides.Any(s => s < 0))
            throw Error($"tensor at byte {at} has a negative offset, size or stride");
        return new TorchTensor(storage, offset, shape, strides, dtype ?? storage.DType);
    }

    long[] Longs(PyTuple t, string what, int at) =>
        t.Items.Select(x => x is long v ? v : throw Error($"tensor {what} at byte {at} holds a non-integer")).ToArray();

    static string Show(long[] v) => "[" + string.Join(", ", v) + "]";

    readonly Dictionary<string, TorchStorage> _storages = new(StringComparer.Ordinal);

    object PersistentLoad(object? pid, int at)
    {
        // ('storage', storage_type, key, location, numel)
        if (pid is not PyTuple { Items.Length: >= 5 } t || t.Items[0] is not "storage")
            throw Error($"persistent id at byte {at} is not a ('storage', type, key, location, numel) tuple");
        if (t.Items[1] is not PyGlobal { Kind: GlobalKind.Storage } type)
            throw Error($"persistent id at byte {at} names `{Describe(t.Items[1])}` as its storage type");
        string key = t.Items[2] as string ?? throw Error($"persistent id at byte {at} has a non-string key");
        string location = t.Items[3] as string ?? "cpu";
        long numel = t.Items[4] is long n ? n : throw Error($"persistent id at byte {at} has a non-integer size");
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.DType != type.StorageDType) throw Error($"storage `{key}` is used both as {known.StorageType} and {type.Name}");
            return known;
        }
        return _storages[key] = new TorchStorage(type.StorageDType, type.Name, key, location, numel);
    }
}
