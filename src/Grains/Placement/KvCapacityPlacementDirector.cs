using Orleans.Runtime.Placement;
using StarKv.Grains.Errors;

namespace StarKv.Grains.Placement;

/// <summary>
/// Reads the registry's load reports and picks, among the silos Orleans deems compatible, the one serving the session's
/// model with the most free KV bytes. The model comes from the request context (<see cref="ModelContextKey"/>) or, for a
/// session reactivated after a crash, from the registry. A placement hint (migration to a named silo) wins when that
/// silo is compatible.
/// </summary>
internal sealed class KvCapacityPlacementDirector(IGrainFactory grains) : IPlacementDirector
{
    /// <summary>Request-context key under which callers name the model a new session runs on.</summary>
    public const string ModelContextKey = ModelContext.Key;

    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            return hinted;
        }

        var registry = grains.GetGrain<ISiloLoadRegistryGrain>(0);
        var model = target.RequestContextData?.TryGetValue(ModelContextKey, out var value) == true ? value as string : null;
        model ??= await registry.GetSessionModelAsync(target.GrainIdentity.Key.ToString()!).ConfigureAwait(false);

        var alive = compatible.Select(s => s.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var reports = (await registry.GetReportsAsync().ConfigureAwait(false)).Where(r => alive.Contains(r.Silo)).ToList();
        if (reports.Count == 0)
        {
            // The registry has no report from a live silo: it was just reactivated (its silo crashed) or the cluster is
            // starting. Silos report every few seconds, so this passes; the client retries rather than gives up.
            throw new StarKvException(StarKvErrorKind.Unavailable,
                $"Session '{target.GrainIdentity.Key}' cannot be placed yet: no live silo has reported its load (the load registry restarted or the cluster is starting); retry shortly.");
        }

        var choice = KvCapacityChooser.Choose(reports, model, exclude: null);
        if (choice.Silo is null)
        {
            throw StarKvException.ResourceExhausted($"No silo can take session '{target.GrainIdentity.Key}': {choice.Reason}.");
        }

        return compatible.First(s => s.ToParsableString() == choice.Silo);
    }
}
