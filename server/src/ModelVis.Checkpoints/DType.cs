namespace ModelVis.Checkpoints;

/// <summary>Element types as safetensors names them.</summary>
public enum DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2, U16, U32, U64 }

public static class DTypes
{
    public static int Size(this DType t) => t switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        _ => 1,
    };

    /// <summary>Whether the engine can widen this type to float32 for display and compute.</summary>
    public static bool IsReadableAsFloat(this DType t) => t is DType.F32 or DType.F16 or DType.BF16 or DType.F64;

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
