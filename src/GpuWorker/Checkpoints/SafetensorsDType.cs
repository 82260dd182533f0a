using TorchSharp;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>The dtype codes of the safetensors format and their torch equivalents.</summary>
public static class SafetensorsDType
{
    private static readonly Dictionary<string, (torch.ScalarType Type, int Size)> Codes = new(StringComparer.Ordinal)
    {
        ["F64"] = (torch.ScalarType.Float64, 8),
        ["F32"] = (torch.ScalarType.Float32, 4),
        ["F16"] = (torch.ScalarType.Float16, 2),
        ["BF16"] = (torch.ScalarType.BFloat16, 2),
        ["I64"] = (torch.ScalarType.Int64, 8),
        ["I32"] = (torch.ScalarType.Int32, 4),
        ["I16"] = (torch.ScalarType.Int16, 2),
        ["I8"] = (torch.ScalarType.Int8, 1),
        ["U8"] = (torch.ScalarType.Byte, 1),
        ["BOOL"] = (torch.ScalarType.Bool, 1),
    };

    /// <summary>Whether <paramref name="code"/> is a dtype this reader understands.</summary>
    public static bool IsKnown(string code) => Codes.ContainsKey(code);

    /// <summary>The torch dtype of a safetensors dtype code ("BF16" → BFloat16).</summary>
    public static torch.ScalarType ToScalarType(string code) =>
        Codes.TryGetValue(code, out var entry) ? entry.Type : throw new ArgumentException($"Unknown safetensors dtype '{code}'.", nameof(code));

    /// <summary>Bytes per element of a safetensors dtype code.</summary>
    public static int ElementSize(string code) =>
        Codes.TryGetValue(code, out var entry) ? entry.Size : throw new ArgumentException($"Unknown safetensors dtype '{code}'.", nameof(code));

    /// <summary>The safetensors dtype code of a torch dtype (BFloat16 → "BF16").</summary>
    public static string FromScalarType(torch.ScalarType type)
    {
        foreach (var (code, entry) in Codes)
        {
            if (entry.Type == type)
            {
                return code;
            }
        }

        throw new ArgumentException($"The safetensors format has no code for dtype {type}.", nameof(type));
    }
}
