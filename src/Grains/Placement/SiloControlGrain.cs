using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime.Placement;
using StarKv.Grains.Errors;

namespace StarKv.Grains.Placement;

/// <summary>
/// The door into one silo (key: the silo's parsable address; <see cref="SiloKeyedPlacementStrategy"/> activates it on that
/// silo): other silos push their load reports through it, admins drain and undrain the silo through it.
/// </summary>
internal interface ISiloControlGrain : IGrainWithStringKey
{
    /// <summary>A load report for this silo's view; one-way, so a sender never waits on a slow or dead silo.</summary>
    [OneWay]
    Task ReceiveReportAsync(SiloLoadReport report);

    /// <summary>Another silo placed a session on <paramref name="silo"/> expected to hold <paramref name="estimatedBytes"/>; one-way.</summary>
    [OneWay]
    Task CountPlacementAsync(string silo, long estimatedBytes);

    Task SetDrainingAsync(bool draining);
}

[SiloKeyedPlacement]
[Reentrant]
internal sealed class SiloControlGrain(ClusterLoadView view, SiloLoadPublisher publisher) : Grain, ISiloControlGrain
{
    public Task ReceiveReportAsync(SiloLoadReport report)
    {
        view.Receive(report);
        return Task.CompletedTask;
    }

    public Task CountPlacementAsync(string silo, long estimatedBytes)
    {
        view.CountPlacement(silo, estimatedBytes);
        return Task.CompletedTask;
    }

    public Task SetDrainingAsync(bool draining) => publisher.SetDrainingAsync(draining);
}

/// <summary>Places a grain keyed by a silo's parsable address on that silo, and nowhere else.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class SiloKeyedPlacementStrategy : PlacementStrategy
{
    public static SiloKeyedPlacementStrategy Singleton { get; } = new();
}

/// <summary>Marks a grain class for <see cref="SiloKeyedPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloKeyedPlacementAttribute : PlacementAttribute
{
    public SiloKeyedPlacementAttribute()
        : base(SiloKeyedPlacementStrategy.Singleton)
    {
    }
}

internal sealed class SiloKeyedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var silo = context.GetCompatibleSilos(target).FirstOrDefault(s => s.ToParsableString() == key);
        return silo is not null
            ? Task.FromResult(silo)
            : throw StarKvException.NotFound($"silo {key} is not a live silo of this cluster.");
    }
}
