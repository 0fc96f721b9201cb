namespace ModelVis.Checkpoints.Onnx;

/// <summary>
/// A reader of the protobuf wire format over a byte buffer: varints, fixed 32/64-bit values and
/// length-delimited fields (sub-messages, strings, bytes, packed repeated scalars). Every read is
/// bounds-checked so a truncated or corrupt file ends in an <see cref="OnnxFormatException"/>.
/// </summary>
public ref struct ProtoWireReader
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5;

    readonly ReadOnlySpan<byte> _buffer;
    /// <summary>Where <see cref="_buffer"/> starts inside the whole file, so offsets can be reported file-relative.</summary>
    readonly long _baseOffset;
    int _pos;

    public ProtoWireReader(ReadOnlySpan<byte> buffer, long baseOffset = 0)
    {
        _buffer = buffer;
        _baseOffset = baseOffset;
        _pos = 0;
    }

    public readonly bool AtEnd => _pos >= _buffer.Length;
    public readonly long FileOffset => _baseOffset + _pos;

    /// <summary>Reads a field key; returns false at the end of the message.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        if (AtEnd) { field = 0; wireType = 0; return false; }
        ulong key = ReadVarint();
        field = (int)(key >> 3);
        wireType = (int)(key & 7);
        if (field <= 0) throw Corrupt($"field number {field} at byte {FileOffset}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _buffer.Length) throw Corrupt("a varint runs past the end of its message");
            byte b = _buffer[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Corrupt($"a varint longer than 10 bytes at byte {FileOffset}");
    }

    public long ReadInt64() => (long)ReadVarint();
    public int ReadInt32() => (int)(long)ReadVarint();

    public uint ReadFixed32()
    {
        Need(4);
        uint v = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(_pos, 4));
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        Need(8);
        ulong v = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(_buffer.Slice(_pos, 8));
        _pos += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>The payload of a length-delimited field, and where it starts in the file.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out long fileOffset)
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_buffer.Length - _pos)) throw Corrupt($"a field of {len} bytes at byte {FileOffset} runs past the end of its message ({_buffer.Length - _pos} bytes left)");
        fileOffset = FileOffset;
        var span = _buffer.Slice(_pos, (int)len);
        _pos += (int)len;
        return span;
    }

    public ReadOnlySpan<byte> ReadLengthDelimited() => ReadLengthDelimited(out _);

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadLengthDelimited());

    /// <summary>Groups nested deeper than this are refused, as protobuf's own parsers do (their default recursion limit is 100):
    /// a file of 100,000 nested start-group tags would otherwise overflow the stack and kill the process.</summary>
    public const int MaxGroupDepth = 100;

    public void Skip(int wireType) => Skip(wireType, 0);

    void Skip(int wireType, int depth)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: Need(8); _pos += 8; break;
            case Fixed32: Need(4); _pos += 4; break;
            case LengthDelimited: ReadLengthDelimited(); break;
            case StartGroup:
                // Deprecated groups: skip fields until the matching end-group.
                if (depth >= MaxGroupDepth) throw Corrupt($"groups nested more than {MaxGroupDepth} deep at byte {FileOffset}");
                while (TryReadTag(out _, out int wt))
                {
                    if (wt == EndGroup) return;
                    Skip(wt, depth + 1);
                }
                throw Corrupt("an unterminated group");
            default: throw Corrupt($"wire type {wireType} at byte {FileOffset}");
        }
    }

    /// <summary>Reads a repeated int64/int32 field that may be packed (one length-delimited run) or not.</summary>
    public void ReadRepeatedVarint(int wireType, List<long> into)
    {
        if (wireType == LengthDelimited)
        {
            var inner = new ProtoWireReader(ReadLengthDelimited(out long off), off);
            while (!inner.AtEnd) into.Add((long)inner.ReadVarint());
        }
        else if (wireType == Varint) into.Add((long)ReadVarint());
        else throw Corrupt($"a repeated integer field with wire type {wireType}");
    }

    public void ReadRepeatedFloat(int wireType, List<float> into)
    {
        if (wireType == LengthDelimited)
        {
            var inner = new ProtoWireReader(ReadLengthDelimited(out long off), off);
            while (!inner.AtEnd) into.Add(inner.ReadFloat());
        }
        else if (wireType == Fixed32) into.Add(ReadFloat());
        else throw Corrupt($"a repeated float field with wire type {wireType}");
    }

    public void ReadRepeatedDouble(int wireType, List<double> into)
    {
        if (wireType == LengthDelimited)
        {
            var inner = new ProtoWireReader(ReadLengthDelimited(out long off), off);
            while (!inner.AtEnd) into.Add(inner.ReadDouble());
        }
        else if (wireType == Fixed64) into.Add(ReadDouble());
        else throw Corrupt($"a repeated double field with wire type {wireType}");
    }

    public void Expect(int wireType, int expected, string what)
    {
        if (wireType != expected) throw Corrupt($"{what} has wire type {wireType}, expected {expected}");
    }

    void Need(int n)
    {
        if (_buffer.Length - _pos < n) throw Corrupt($"a {n}-byte value runs past the end of its message at byte {FileOffset}");
    }

    static OnnxFormatException Corrupt(string what) => new($"not a valid ONNX protobuf: {what}");
}

/// <summary>An ONNX file that cannot be read: truncated, corrupt, or using a feature this reader lacks.</summary>
public sealed class OnnxFormatException(string message, Exception? inner = null) : Exception(message, inner);
