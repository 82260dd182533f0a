using System.Text;
using System.Text.Json;
using TorchSharp;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>
/// Writes tensors in the safetensors format, tensors ordered by name and the header padded with spaces to a
/// multiple of 8 bytes, so the same tensors always give the same bytes. Tensors are written in their own dtype.
/// </summary>
public static class SafetensorsWriter
{
    private const long MaxChunkBytes = 1L << 30;

    /// <summary>Writes one safetensors file.</summary>
    public static void Write(
        string path,
        IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var duplicate = ordered.Zip(ordered.Skip(1)).FirstOrDefault(p => p.First.Key == p.Second.Key);
        if (duplicate.First.Key is not null)
        {
            throw new ArgumentException($"Tensor name '{duplicate.First.Key}' appears twice.", nameof(tensors));
        }

        var header = BuildHeader(ordered, metadata);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> lengthBytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
        stream.Write(lengthBytes);
        stream.Write(header);
        foreach (var (_, tensor) in ordered)
        {
            WriteData(stream, tensor);
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as Hugging Face's sharded layout: <c>{prefix}-00001-of-0000N.safetensors</c>
    /// files of at most <paramref name="maxShardBytes"/> data bytes each (a larger tensor gets a shard of its own),
    /// and <c>{prefix}.safetensors.index.json</c> mapping every tensor to its shard.
    /// </summary>
    /// <returns>The shard file names, in order.</returns>
    public static IReadOnlyList<string> WriteSharded(
        string folder,
        IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
        long maxShardBytes,
        string prefix = "model")
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var shards = new List<List<KeyValuePair<string, torch.Tensor>>>();
        long current = 0;
        foreach (var entry in ordered)
        {
            var bytes = entry.Value.NumberOfElements * entry.Value.ElementSize;
            if (shards.Count == 0 || (current + bytes > maxShardBytes && current > 0))
            {
                shards.Add([]);
                current = 0;
            }

            shards[^1].Add(entry);
            current += bytes;
        }

        Directory.CreateDirectory(folder);
        var names = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long totalSize = 0;
        for (var i = 0; i < shards.Count; i++)
        {
            var name = $"{prefix}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            Write(System.IO.Path.Combine(folder, name), shards[i], new Dictionary<string, string> { ["format"] = "pt" });
            names.Add(name);
            foreach (var (tensorName, tensor) in shards[i])
            {
                weightMap[tensorName] = name;
                totalSize += tensor.NumberOfElements * tensor.ElementSize;
            }
        }

        using var index = new FileStream(System.IO.Path.Combine(folder, $"{prefix}.safetensors.index.json"), FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(index, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_size", totalSize);
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach (var (tensorName, file) in weightMap)
        {
            json.WriteString(tensorName, file);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        return names;
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, torch.Tensor>> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, tensor) in ordered)
            {
                var bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDType.FromScalarType(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (var dim in tensor.shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }

            json.WriteEndObject();
        }

        var padding = (int)((8 - (buffer.Length % 8)) % 8);
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return buffer.ToArray();
    }

    private static void WriteData(Stream stream, torch.Tensor tensor)
    {
        var elements = tensor.NumberOfElements;
        if (elements == 0)
        {
            return;
        }

        using var cpu = tensor.device_type == DeviceType.CPU ? tensor.alias() : tensor.cpu();
        using var contiguous = cpu.contiguous();
        using var flat = contiguous.view(-1); // [elements]
        var chunkElements = MaxChunkBytes / tensor.ElementSize;
        for (long start = 0; start < elements; start += chunkElements)
        {
            using var part = flat.narrow(0, start, Math.Min(chunkElements, elements - start)); // [chunk]
            stream.Write(part.bytes);
        }
    }
}
