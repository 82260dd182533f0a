namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>Where <see cref="FileSystemKvCheckpointStore"/> keeps checkpoints (under <c>{RootPath}/kv/</c>).</summary>
public sealed class FileSystemKvCheckpointStoreOptions
{
    public string? RootPath { get; set; }

    internal string? Problem() =>
        string.IsNullOrWhiteSpace(RootPath) ? "RootPath is empty; set the folder that holds KV checkpoints." : null;
}
