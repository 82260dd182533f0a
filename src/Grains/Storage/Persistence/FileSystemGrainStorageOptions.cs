using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>Where <see cref="FileSystemGrainStorage"/> keeps grain state: one file per grain and state name under <see cref="RootPath"/>.</summary>
public sealed class FileSystemGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>The folder that holds the state files (under <c>state/</c>); created at silo start when missing.</summary>
    public string? RootPath { get; set; }

    /// <summary>The silo lifecycle stage at which the folder is created.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <summary>How long a write or clear waits for another writer's lock on the same record before failing.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The state serializer; when left null, the silo's configured <see cref="IGrainStorageSerializer"/>.</summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;

    internal string? Problem()
    {
        if (string.IsNullOrWhiteSpace(RootPath))
        {
            return "RootPath is empty; set the folder that holds grain state.";
        }

        return LockTimeout <= TimeSpan.Zero ? $"LockTimeout must be positive; it is {LockTimeout}." : null;
    }
}
