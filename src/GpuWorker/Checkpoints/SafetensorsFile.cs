using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>
/// A safetensors file opened for reading: an 8-byte little-endian header length N, N bytes of JSON
/// (per tensor: <c>dtype</c>, <c>shape</c>, <c>data_offsets</c> [begin, end) relative to the data section;
/// an optional <c>__metadata__</c> map of strings), then the raw little-endian data section.
/// Opening reads and validates only the header; <see cref="Read"/> streams one tensor's bytes from the
/// file straight into native tensor memory, so a shard is never held in managed memory.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Headers larger than this are refused as corrupt (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Default bound on one read: Span lengths are int, so a tensor over 2 GiB is read in parts.</summary>
    public const long DefaultMaxReadBytes = 1L << 30;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;

    private SafetensorsFile(
        string path,
        SafeFileHandle handle,
        long dataStart,
        List<SafetensorsTensorInfo> tensors,
        IReadOnlyDictionary<string, string> metadata,
        long maxReadBytes)
    {
        Path = path;
        MaxReadBytes = maxReadBytes;
        _handle = handle;
        DataStart = dataStart;
        TensorList = tensors;
        _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Offset of the data section in the file: 8 + header length.</summary>
    public long DataStart { get; }

    /// <summary>Tensor entries in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> TensorList { get; }

    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => _tensors;

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The most bytes one read call copies into a tensor.</summary>
    public long MaxReadBytes { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header against the file's length.</summary>
    /// <exception cref="CheckpointFormatException">The header is corrupt or the file is truncated.</exception>
    public static SafetensorsFile Open(string path, long maxReadBytes = DefaultMaxReadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReadBytes, 8);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointFormatException(path, $"cannot be opened: {e.Message}", e);
        }

        try
        {
            var (dataStart, tensors, metadata) = ReadHeader(path, handle);
            return new SafetensorsFile(path, handle, dataStart, tensors, metadata, maxReadBytes);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads tensor <paramref name="name"/> into a new tensor on <paramref name="device"/> (CPU when null),
    /// converted to <paramref name="dtype"/> (the stored dtype when null).
    /// </summary>
    public torch.Tensor Read(string name, torch.ScalarType? dtype = null, torch.Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (!_tensors.TryGetValue(name, out var info))
        {
            throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");
        }

        var stored = SafetensorsDType.ToScalarType(info.DType);
        var cpu = torch.empty(info.Shape.ToArray(), stored); // [shape as stored]
        try
        {
            ReadInto(cpu, info);
        }
        catch
        {
            cpu.Dispose();
            throw;
        }

        var target = dtype ?? stored;
        var targetDevice = device ?? torch.CPU;
        if (target == stored && targetDevice.type == DeviceType.CPU)
        {
            return cpu;
        }

        // Move first, then convert: the transfer carries the (usually smaller) stored dtype.
        var moved = targetDevice.type == DeviceType.CPU ? cpu : cpu.to(targetDevice);
        var converted = target == stored ? moved : moved.to_type(target);
        if (!ReferenceEquals(moved, cpu))
        {
            cpu.Dispose();
        }

        if (!ReferenceEquals(converted, moved))
        {
            moved.Dispose();
        }

        return converted;
    }

    public void Dispose() => _handle.Dispose();

    private void ReadInto(torch.Tensor destination, SafetensorsTensorInfo info)
    {
        if (info.ByteLength == 0)
        {
            return;
        }

        var elementSize = SafetensorsDType.ElementSize(info.DType);
        var chunkElements = MaxReadBytes / elementSize;
        using var flat = destination.view(-1); // [elements]
        var elements = info.ElementCount;
        for (long start = 0; start < elements; start += chunkElements)
        {
            var count = Math.Min(chunkElements, elements - start);
            using var part = flat.narrow(0, start, count); // [count]
            var span = part.bytes;
            var fileOffset = DataStart + info.Begin + (start * elementSize);
            var filled = 0;
            while (filled < span.Length)
            {
                var read = RandomAccess.Read(_handle, span[filled..], fileOffset + filled);
                if (read == 0)
                {
                    throw new CheckpointFormatException(Path, $"truncated: tensor '{info.Name}' ends at byte {DataStart + info.End} but the file ends at {fileOffset + filled}.");
                }

                filled += read;
            }
        }
    }

    private static (long DataStart, List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) ReadHeader(string path, SafeFileHandle handle)
    {
        var fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
        {
            throw new CheckpointFormatException(path, $"file is {fileLength} bytes, shorter than the 8-byte header length field.");
        }

        Span<byte> lengthBytes = stackalloc byte[8];
        RandomAccess.Read(handle, lengthBytes, 0);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > MaxHeaderBytes)
        {
            throw new CheckpointFormatException(path, $"corrupt header: header length {headerLength} is outside 1..{MaxHeaderBytes}.");
        }

        if ((long)headerLength > fileLength - 8)
        {
            throw new CheckpointFormatException(path, $"truncated: header length {headerLength} exceeds the {fileLength - 8} bytes that follow it.");
        }

        var headerBytes = new byte[headerLength];
        RandomAccess.Read(handle, headerBytes, 8);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"corrupt header: not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException(path, $"corrupt header: expected a JSON object, found {document.RootElement.ValueKind}.");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }

                var info = ReadEntry(path, property.Name, property.Value);
                if (info.End > dataLength)
                {
                    throw new CheckpointFormatException(path, $"truncated: tensor '{info.Name}' needs data bytes up to {info.End} but the data section holds {dataLength}.");
                }

                tensors.Add(info);
            }

            return (dataStart, tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointFormatException(path, "corrupt header: __metadata__ is not an object.");
        }

        foreach (var entry in value.EnumerateObject())
        {
            metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
        }
    }

    private static SafetensorsTensorInfo ReadEntry(string path, string name, JsonElement value)
    {
        string Corrupt(string what) => $"corrupt header: tensor '{name}' {what}.";

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointFormatException(path, Corrupt("is not an object"));
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new CheckpointFormatException(path, Corrupt("has no dtype string"));
        }

        var dtype = dtypeElement.GetString()!;
        if (!SafetensorsDType.IsKnown(dtype))
        {
            throw new CheckpointFormatException(path, Corrupt($"has unsupported dtype '{dtype}'"));
        }

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new CheckpointFormatException(path, Corrupt("has no shape array"));
        }

        var shape = new List<long>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d) || d < 0)
            {
                throw new CheckpointFormatException(path, Corrupt($"has an invalid dimension {dim.GetRawText()} in its shape"));
            }

            shape.Add(d);
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end) || begin < 0 || end < begin)
        {
            throw new CheckpointFormatException(path, Corrupt("has no valid data_offsets [begin, end]"));
        }

        var info = new SafetensorsTensorInfo(name, dtype, shape, begin, end);
        long expectedBytes;
        try
        {
            expectedBytes = checked(info.ElementCount * SafetensorsDType.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException(path, Corrupt("has a shape too large to address"));
        }

        if (expectedBytes != info.ByteLength)
        {
            throw new CheckpointFormatException(path, Corrupt($"spans {info.ByteLength} bytes but {dtype} [{string.Join(", ", shape)}] needs {expectedBytes}"));
        }

        return info;
    }
}
