using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>Where <see cref="AzureBlobGrainStorage"/> keeps grain state: one blob per grain and state name.</summary>
public sealed class AzureBlobGrainStorageOptions : IStorageProviderSerializerOptions
{
    public const string DefaultContainer = "starkv-checkpoints";

    /// <summary>An Azure Storage connection string (for Azurite, its development-account string with a BlobEndpoint).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The blob container; created at silo start when missing. Grain state lives under <c>state/</c> in it.</summary>
    public string Container { get; set; } = DefaultContainer;

    /// <summary>The silo lifecycle stage at which the container is created.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <summary>The state serializer; when left null, the silo's configured <see cref="IGrainStorageSerializer"/>.</summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;

    internal string? Problem() =>
        string.IsNullOrWhiteSpace(ConnectionString)
            ? "ConnectionString is empty; set an Azure Storage connection string."
            : StorageNames.ContainerNameProblem(Container);
}
