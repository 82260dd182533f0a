using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// Registers the blob and file grain storages as named Orleans storage providers (keyed
/// <see cref="IGrainStorage"/> services that take part in the silo lifecycle). A grain then asks for
/// <c>[PersistentState("stateName", "providerName")] IPersistentState&lt;T&gt;</c>.
/// </summary>
public static class GrainStorageSiloBuilderExtensions
{
    public static ISiloBuilder AddAzureBlobGrainStorage(this ISiloBuilder builder, string name, Action<AzureBlobGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddAzureBlobGrainStorage(name, configure);
        return builder;
    }

    public static ISiloBuilder AddFileSystemGrainStorage(this ISiloBuilder builder, string name, Action<FileSystemGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddFileSystemGrainStorage(name, configure);
        return builder;
    }

    public static IServiceCollection AddAzureBlobGrainStorage(this IServiceCollection services, string name, Action<AzureBlobGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, name, configure, o => o.Problem());
        return services.AddGrainStorage(name, static (sp, key) => new AzureBlobGrainStorage(
            key,
            sp.GetRequiredService<IOptionsMonitor<AzureBlobGrainStorageOptions>>().Get(key),
            sp.GetRequiredService<IActivatorProvider>(),
            sp.GetRequiredService<ILogger<AzureBlobGrainStorage>>()));
    }

    public static IServiceCollection AddFileSystemGrainStorage(this IServiceCollection services, string name, Action<FileSystemGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, name, configure, o => o.Problem());
        return services.AddGrainStorage(name, static (sp, key) => new FileSystemGrainStorage(
            key,
            sp.GetRequiredService<IOptionsMonitor<FileSystemGrainStorageOptions>>().Get(key),
            sp.GetRequiredService<IActivatorProvider>()));
    }

    private static void AddOptions<TOptions>(IServiceCollection services, string name, Action<TOptions> configure, Func<TOptions, string?> problem)
        where TOptions : class, IStorageProviderSerializerOptions
    {
        services.AddOptions<TOptions>(name).Configure(configure);
        services.AddSingleton<IValidateOptions<TOptions>>(new OptionsProblemValidator<TOptions>(name, problem));
        services.AddTransient<IPostConfigureOptions<TOptions>, DefaultStorageProviderSerializerOptionsConfigurator<TOptions>>();
        services.ConfigureNamedOptionForLogging<TOptions>(name);
    }
}
