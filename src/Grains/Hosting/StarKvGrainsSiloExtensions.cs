using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Serialization;
using Orleans.Storage;
using StarKv.Grains.Persistence;
using StarKv.Grains.Placement;

namespace StarKv.Grains.Hosting;

/// <summary>Registers what the trajectory grains need on a silo, except the model runtime, the action parser and the checkpoint blobs.</summary>
public static class StarKvGrainsSiloExtensions
{
    /// <summary>The grain storage name the trajectory and tenant grains persist through.</summary>
    public const string StorageName = "checkpoints";

    public static ISiloBuilder AddStarKvGrains(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddPlacementDirector<KvCapacityPlacementStrategy, KvCapacityPlacementDirector>();
        var services = silo.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<CapacityOptions>();
        services.AddOptions<LoadReportOptions>();
        services.AddSingleton<SiloSessionLedger>();
        services.AddSingleton<SiloLoadPublisher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloLoadPublisher>());
        return silo;
    }

    /// <summary>Grain state as files under <paramref name="root"/> (the embedded mode's storage).</summary>
    public static ISiloBuilder AddStarKvFileGrainStorage(this ISiloBuilder silo, string root)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageName, (sp, _) => new FileGrainStorage(root, sp.GetRequiredService<Serializer>()));
        return silo;
    }
}
