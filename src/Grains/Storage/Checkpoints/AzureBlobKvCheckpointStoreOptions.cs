namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>Where <see cref="AzureBlobKvCheckpointStore"/> keeps checkpoints (under <c>kv/</c> in the container).</summary>
public sealed class AzureBlobKvCheckpointStoreOptions
{
    public const string DefaultContainer = "starkv-checkpoints";

    /// <summary>An Azure Storage connection string (for Azurite, its development-account string with a BlobEndpoint).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The blob container; created on the first write when missing.</summary>
    public string Container { get; set; } = DefaultContainer;

    internal string? Problem() =>
        string.IsNullOrWhiteSpace(ConnectionString)
            ? "ConnectionString is empty; set an Azure Storage connection string."
            : StorageNames.ContainerNameProblem(Container);
}
