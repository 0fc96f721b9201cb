namespace ModelVis.Checkpoints;

/// <summary>
/// Element types as safetensors names them, then GGUF's block-quantized types (listed, never widened:
/// their <see cref="DTypes.Size"/> is not an element size; use <see cref="DTypes.ByteLength"/>).
/// </summary>
public enum DType
{
    F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2, U16, U32, U64,
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0, Q2_0,
}

public static class DTypes
{
    public static int Size(this DType t) => t switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        _ => 1,
    };

    /// <summary>GGUF block-quantized types: (elements per block, bytes per block).</summary>
    public static (int Elements, int Bytes) Block(this DType t) => t switch
    {
        DType.Q4_0 => (32, 18), DType.Q4_1 => (32, 20), DType.Q5_0 => (32, 22), DType.Q5_1 => (32, 24),
        DType.Q8_0 => (32, 34), DType.Q8_1 => (32, 36), DType.IQ4_NL => (32, 18), DType.MXFP4 => (32, 17),
        DType.Q2_K => (256, 84), DType.Q3_K => (256, 110), DType.Q4_K => (256, 144), DType.Q5_K => (256, 176),
        DType.Q6_K => (256, 210), DType.Q8_K => (256, 292), DType.IQ2_XXS => (256, 66), DType.IQ2_XS => (256, 74),
        DType.IQ3_XXS => (256, 98), DType.IQ1_S => (256, 50), DType.IQ3_S => (256, 110), DType.IQ2_S => (256, 82),
        DType.IQ4_XS => (256, 136), DType.IQ1_M => (256, 56), DType.TQ1_0 => (256, 54), DType.TQ2_0 => (256, 66),
        DType.NVFP4 => (64, 36), DType.Q1_0 => (128, 18), DType.Q2_0 => (64, 18),
        _ => (1, t.Size()),
    };

    public static bool IsQuantized(this DType t) => t >= DType.Q4_0;

    /// <summary>Bytes that <paramref name="elements"/> elements of this type take (whole blocks for quantized types).</summary>
    public static long ByteLength(this DType t, long elements)
    {
        var (n, bytes) = t.Block();
        return checked((elements + n - 1) / n * bytes);
    }

    /// <summary>Whether the engine can widen this type to float32 for display and compute (block-quantized
    /// types by dequantizing them, <see cref="GgmlQuantization"/>).</summary>
    public static bool IsReadableAsFloat(this DType t) =>
        t is DType.F32 or DType.F16 or DType.BF16 or DType.F64 || GgmlQuantization.IsSupported(t);

    /// <summary>The types <see cref="IsReadableAsFloat"/> accepts, for messages: "F64, F32, F16, BF16, Q4_0, …".</summary>
    public static string ReadableAsFloatNames { get; } =
        string.Join(", ", Enum.GetValues<DType>().Where(IsReadableAsFloat).Select(Name));


    public static bool TryParse(string name, out DType type)
    {
        switch (name)
        {
            case "F64": type = DType.F64; return true;
            case "F32": type = DType.F32; return true;
            case "F16": type = DType.F16; return true;
            case "BF16": type = DType.BF16; return true;
            case "I64": type = DType.I64; return true;
            case "I32": type = DType.I32; return true;
            case "I16": type = DType.I16; return true;
            case "I8": type = DType.I8; return true;
            case "U8": type = DType.U8; return true;
            case "U16": type = DType.U16; return true;
            case "U32": type = DType.U32; return true;
            case "U64": type = DType.U64; return true;
            case "BOOL": type = DType.Bool; return true;
            case "F8_E4M3": type = DType.F8_E4M3; return true;
            case "F8_E5M2": type = DType.F8_E5M2; return true;
            default: type = default; return false;
        }
    }

    public static string Name(this DType t) => t == DType.Bool ? "BOOL" : t.ToString();
}
