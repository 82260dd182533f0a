using Orleans.Concurrency;

namespace StarKv.Grains.Placement;

/// <summary>Answers from the <see cref="ClusterLoadView"/> of the silo it runs on (one activation per silo, where called).</summary>
[StatelessWorker]
[Reentrant]
internal sealed class SiloLoadRegistryGrain(ClusterLoadView view) : Grain, ISiloLoadRegistryGrain
{
    public Task<IReadOnlyList<SiloLoadReport>> GetReportsAsync() => Task.FromResult(view.Reports());

    public Task<PlacementChoice> ChooseSiloAsync(string modelId, string? excludeSilo) =>
        Task.FromResult(KvCapacityChooser.Choose(view.Reports(), modelId, excludeSilo is null ? null : [excludeSilo]));

    public Task SetDrainingAsync(string silo, bool draining) => GrainFactory.GetGrain<ISiloControlGrain>(silo).SetDrainingAsync(draining);
}
