using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;

namespace StarKv.GpuWorker.Numpy;

/// <summary>
/// NumPy's <c>.npy</c> format: the magic <c>\x93NUMPY</c>, version bytes, a little-endian header length
/// (uint16 in version 1.0, uint32 in 2.0), an ASCII Python dict
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c> padded with spaces to a 64-byte boundary
/// and ended by a newline, then the raw data in C order. Written as version 1.0 (2.0 only for a header over 65,535
/// bytes), little-endian; bfloat16, which NumPy lacks, is written as float32. Meant for dumps of logits and hidden
/// states: one array is read or written whole, so it must stay under 2 GiB.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private static readonly (torch.ScalarType Type, string Descr)[] Types =
    [
        (torch.ScalarType.Float32, "<f4"),
        (torch.ScalarType.Float64, "<f8"),
        (torch.ScalarType.Float16, "<f2"),
        (torch.ScalarType.Int64, "<i8"),
        (torch.ScalarType.Int32, "<i4"),
        (torch.ScalarType.Int16, "<i2"),
        (torch.ScalarType.Int8, "|i1"),
        (torch.ScalarType.Byte, "|u1"),
        (torch.ScalarType.Bool, "|b1"),
    ];

    /// <summary>Writes <paramref name="tensor"/> (any device; bfloat16 as float32) to <paramref name="path"/>.</summary>
    public static void Write(string path, torch.Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = torch.NewDisposeScope();
        var data = tensor.detach().cpu();
        if (data.dtype == torch.ScalarType.BFloat16)
        {
            data = data.to_type(torch.ScalarType.Float32);
        }

        var descr = Types.FirstOrDefault(t => t.Type == data.dtype).Descr
            ?? throw new ArgumentException($"The .npy writer has no type code for dtype {data.dtype}.", nameof(tensor));
        data = data.contiguous();

        var shape = data.shape.Length switch
        {
            0 => "()",
            1 => $"({data.shape[0]},)",
            _ => "(" + string.Join(", ", data.shape) + ")",
        };
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        var version2 = dict.Length + 1 + 12 > ushort.MaxValue;
        var prefix = version2 ? 12 : 10;
        var padded = ((prefix + dict.Length + 1 + 63) / 64 * 64) - prefix;
        var header = Encoding.ASCII.GetBytes(dict.PadRight(padded - 1) + "\n");

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.Write(Magic);
        stream.WriteByte(version2 ? (byte)2 : (byte)1);
        stream.WriteByte(0);
        Span<byte> length = stackalloc byte[4];
        if (version2)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)header.Length);
            stream.Write(length);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
            stream.Write(length[..2]);
        }

        stream.Write(header);
        if (data.NumberOfElements > 0)
        {
            stream.Write(data.bytes);
        }
    }

    /// <summary>Reads a little-endian <c>.npy</c> file (version 1.0, 2.0 or 3.0; C or Fortran order) into a CPU tensor.</summary>
    /// <exception cref="FormatException">Not a .npy file, or a type or layout this reader does not take.</exception>
    public static torch.Tensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new FormatException($"{path}: not a .npy file (no \\x93NUMPY magic).");
        }

        var major = bytes[6];
        int headerLength, headerStart;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8, 2));
            headerStart = 10;
        }
        else if (major is 2 or 3 && bytes.Length >= 12)
        {
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8, 4)));
            headerStart = 12;
        }
        else
        {
            throw new FormatException($"{path}: unsupported .npy version {major}.{bytes[7]}.");
        }

        if (headerStart + headerLength > bytes.Length)
        {
            throw new FormatException($"{path}: truncated header.");
        }

        var header = Encoding.UTF8.GetString(bytes, headerStart, headerLength);
        var descr = HeaderField(DescrPattern(), header, "descr", path);
        var fortran = HeaderField(FortranPattern(), header, "fortran_order", path) == "True";
        var shapeText = HeaderField(ShapePattern(), header, "shape", path);
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.Parse(d, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();

        if (descr.StartsWith('>'))
        {
            throw new FormatException($"{path}: big-endian data ('{descr}') is not supported.");
        }

        var normalized = descr.StartsWith('=') ? "<" + descr[1..] : descr;
        var match = Types.FirstOrDefault(t => t.Descr == normalized || t.Descr[1..] == normalized[1..]);
        if (match.Descr is null)
        {
            throw new FormatException($"{path}: unsupported dtype '{descr}'.");
        }

        var dataStart = headerStart + headerLength;
        var storedShape = fortran ? shape.Reverse().ToArray() : shape;
        var result = torch.empty(storedShape, match.Type); // [shape as stored]
        var byteCount = result.NumberOfElements * result.ElementSize;
        if (dataStart + byteCount > bytes.Length)
        {
            result.Dispose();
            throw new FormatException($"{path}: truncated data: {byteCount} bytes expected after the header, {bytes.Length - dataStart} present.");
        }

        if (byteCount > 0)
        {
            bytes.AsSpan(dataStart, (int)byteCount).CopyTo(result.bytes);
        }

        if (!fortran || shape.Length < 2)
        {
            return result;
        }

        // Fortran order is C order of the reversed shape; reversing the dimensions gives the logical array.
        using (result)
        {
            return result.permute(Enumerable.Range(0, shape.Length).Reverse().Select(i => (long)i).ToArray()).contiguous();
        }
    }

    private static string HeaderField(Regex pattern, string header, string name, string path)
    {
        var match = pattern.Match(header);
        return match.Success ? match.Groups[1].Value : throw new FormatException($"{path}: header has no '{name}': {header.Trim()}");
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
