using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StarKv.Grains.Actions;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Hosting;

/// <summary>
/// Registers what the trajectory grains need on a silo, except the model runtime (<c>IModelRuntime</c>), the grain
/// storage named <see cref="StorageName"/> and the <c>IKvCheckpointStore</c>, which the host chooses.
/// </summary>
public static class StarKvGrainsSiloExtensions
{
    /// <summary>The grain storage name the trajectory and tenant grains persist through.</summary>
    public const string StorageName = "checkpoints";

    public static ISiloBuilder AddStarKvGrains(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddPlacementDirector<KvCapacityPlacementStrategy, KvCapacityPlacementDirector>();
        silo.AddPlacementDirector<SiloKeyedPlacementStrategy, SiloKeyedPlacementDirector>();
        var services = silo.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<CapacityOptions>();
        services.AddOptions<LoadReportOptions>();
        services.AddOptions<ActionParsingOptions>().BindConfiguration(ActionParsingOptions.Section)
            .Validate(o => o.TupleCoordinates is "resized" or "normalized1000", "StarKv:Actions:TupleCoordinates must be 'resized' or 'normalized1000'.").ValidateOnStart();
        services.AddOptions<SessionCheckpointOptions>();
        services.TryAddSingleton<SessionCheckpoints>();
        services.TryAddSingleton<IStepActionParser, UiTarsStepActionParser>();
        services.AddSingleton<SiloSessionLedger>();
        services.AddSingleton<ClusterLoadView>();
        services.AddSingleton<SessionFootprintEstimator>();
        services.AddSingleton<SiloLoadPublisher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloLoadPublisher>());
        return silo;
    }
}
