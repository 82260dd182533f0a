using System.Text.Json;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>
/// The safetensors files of a checkpoint folder, opened, with every tensor located by its canonical name:
/// the shards listed by <c>model.safetensors.index.json</c> when present, otherwise <c>model.safetensors</c>,
/// otherwise every <c>*.safetensors</c> file of the folder.
/// </summary>
public sealed class CheckpointFiles : IDisposable
{
    public const string IndexFileName = "model.safetensors.index.json";
    public const string SingleFileName = "model.safetensors";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Info)> _byCanonicalName;

    private CheckpointFiles(List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> byName)
    {
        _files = files;
        _byCanonicalName = byName;
    }

    /// <summary>The opened files, in shard order.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Each stored tensor's shape under its canonical name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<long>> Shapes =>
        _byCanonicalName.ToDictionary(e => e.Key, e => e.Value.Info.Shape, StringComparer.Ordinal);

    /// <summary>Canonical names, grouped by file (in file order) so that reading walks each file once.</summary>
    public IEnumerable<string> NamesInFileOrder =>
        _byCanonicalName.OrderBy(e => _files.IndexOf(e.Value.File)).ThenBy(e => e.Value.Info.Begin).Select(e => e.Key);

    /// <exception cref="CheckpointFormatException">A file is missing, corrupt or truncated, or the index is broken.</exception>
    public static CheckpointFiles Open(string folder)
    {
        var paths = FindFiles(folder, out var indexMap, out var indexPath);
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var path in paths)
            {
                files.Add(SafetensorsFile.Open(path));
            }

            var byName = new Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                foreach (var info in file.TensorList)
                {
                    var canonical = Qwen25VlCheckpointLayout.CanonicalName(info.Name);
                    if (byName.TryGetValue(canonical, out var previous))
                    {
                        throw new CheckpointFormatException(file.Path, $"tensor '{info.Name}' (canonical '{canonical}') is also stored in {previous.Item1.Path}.");
                    }

                    byName[canonical] = (file, info);
                }
            }

            if (indexMap is not null)
            {
                foreach (var (name, shard) in indexMap)
                {
                    var file = files.First(f => Path.GetFileName(f.Path) == shard);
                    if (!file.Tensors.ContainsKey(name))
                    {
                        throw new CheckpointFormatException(indexPath!, $"lists tensor '{name}' in {shard}, which does not hold it.");
                    }
                }
            }

            return new CheckpointFiles(files, byName);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw;
        }
    }

    /// <summary>Reads one tensor by canonical name, converted to <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public TorchSharp.torch.Tensor Read(string canonicalName, TorchSharp.torch.ScalarType dtype, TorchSharp.torch.Device device)
    {
        var (file, info) = _byCanonicalName[canonicalName];
        return file.Read(info.Name, dtype, device);
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private static List<string> FindFiles(string folder, out Dictionary<string, string>? indexMap, out string? indexPath)
    {
        if (!Directory.Exists(folder))
        {
            throw new CheckpointFormatException(folder, "model folder does not exist.");
        }

        indexMap = null;
        indexPath = Path.Combine(folder, IndexFileName);
        if (File.Exists(indexPath))
        {
            indexMap = ReadIndex(indexPath);
            var shards = indexMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            foreach (var shard in shards)
            {
                if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || !File.Exists(Path.Combine(folder, shard)))
                {
                    throw new CheckpointFormatException(indexPath, $"refers to shard '{shard}', which is not in the folder.");
                }
            }

            return shards.Select(s => Path.Combine(folder, s)).ToList();
        }

        indexPath = null;
        var single = Path.Combine(folder, SingleFileName);
        if (File.Exists(single))
        {
            return [single];
        }

        var any = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        return any.Count > 0
            ? any
            : throw new CheckpointFormatException(folder, $"holds neither {IndexFileName} nor any .safetensors file.");
    }

    private static Dictionary<string, string> ReadIndex(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException(indexPath, "has no weight_map object.");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                result[entry.Name] = entry.Value.ValueKind == JsonValueKind.String
                    ? entry.Value.GetString()!
                    : throw new CheckpointFormatException(indexPath, $"maps tensor '{entry.Name}' to a non-string {entry.Value.ValueKind}.");
            }

            return result;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(indexPath, $"is not valid JSON ({e.Message}).", e);
        }
    }
}
