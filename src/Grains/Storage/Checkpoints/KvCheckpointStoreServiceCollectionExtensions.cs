using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>Registers the one <see cref="IKvCheckpointStore"/> of a process; the last call wins.</summary>
public static class KvCheckpointStoreServiceCollectionExtensions
{
    public static IServiceCollection AddAzureBlobKvCheckpointStore(this IServiceCollection services, Action<AzureBlobKvCheckpointStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AzureBlobKvCheckpointStoreOptions>().Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureBlobKvCheckpointStoreOptions>>(
            new OptionsProblemValidator<AzureBlobKvCheckpointStoreOptions>(null, o => o.Problem())));
        services.Replace(ServiceDescriptor.Singleton<IKvCheckpointStore, AzureBlobKvCheckpointStore>());
        return services;
    }

    public static IServiceCollection AddFileSystemKvCheckpointStore(this IServiceCollection services, Action<FileSystemKvCheckpointStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<FileSystemKvCheckpointStoreOptions>().Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileSystemKvCheckpointStoreOptions>>(
            new OptionsProblemValidator<FileSystemKvCheckpointStoreOptions>(null, o => o.Problem())));
        services.Replace(ServiceDescriptor.Singleton<IKvCheckpointStore, FileSystemKvCheckpointStore>());
        return services;
    }

    public static IServiceCollection AddInMemoryKvCheckpointStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.Replace(ServiceDescriptor.Singleton<IKvCheckpointStore, InMemoryKvCheckpointStore>());
        return services;
    }
}
