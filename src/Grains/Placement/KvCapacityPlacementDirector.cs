using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Placement;
using Orleans.Storage;
using StarKv.Grains.Errors;
using StarKv.Grains.Hosting;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Placement;

/// <summary>
/// Places a trajectory among the silos Orleans deems compatible: the one serving the session's model with the most free
/// KV bytes in this silo's <see cref="ClusterLoadView"/>, counting the new session's estimated footprint against it. The
/// model and budget come from the request context (<see cref="ModelContext"/>, a new session) or, for a session
/// reactivated after a crash, from the session's own persisted state. A placement hint (migration to a named silo) wins
/// when that silo is compatible.
/// </summary>
internal sealed class KvCapacityPlacementDirector(ClusterLoadView view, SessionFootprintEstimator footprint, IGrainFactory grains, IServiceProvider services) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            return hinted;
        }

        var session = FromContext(target.RequestContextData) ?? await FromStateAsync(target.GrainIdentity).ConfigureAwait(false);
        var alive = compatible.Select(s => s.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var reports = view.Reports().Where(r => alive.Contains(r.Silo)).ToList();
        if (reports.Count == 0)
        {
            // No report from a live silo yet: the cluster is starting. Silos report every few seconds; the client retries.
            throw StarKvException.Unavailable(
                $"Session '{target.GrainIdentity.Key}' cannot be placed yet: no live silo has reported its load (the cluster is starting); retry shortly.");
        }

        var choice = KvCapacityChooser.Choose(reports, session?.ModelId, exclude: null);
        if (choice.Silo is not { } chosen)
        {
            throw StarKvException.ResourceExhausted($"No silo can take session '{target.GrainIdentity.Key}': {choice.Reason}.");
        }

        var report = reports.First(r => r.Silo == chosen);
        var estimate = session is null ? 0 : Math.Max(session.HeldBytes, footprint.Estimate(session.BudgetRatio, session.BudgetTokens, report.KvBytesPerToken));
        view.CountPlacement(chosen, estimate);
        var here = context.LocalSilo.ToParsableString();
        foreach (var silo in alive.Where(s => s != here))
        {
            // Every silo places sessions; each counts the others' placements too, so a burst spread over silos spreads.
            _ = grains.GetGrain<ISiloControlGrain>(silo).CountPlacementAsync(chosen, estimate);
        }
        return compatible.First(s => s.ToParsableString() == chosen);
    }

    private static PlacedSession? FromContext(Dictionary<string, object>? context)
    {
        if (context?.TryGetValue(ModelContext.Key, out var model) != true || model is not string modelId)
        {
            return null;
        }

        var ratio = context.TryGetValue(ModelContext.BudgetRatioKey, out var r) && r is double d ? d : 0.2;
        int? tokens = context.TryGetValue(ModelContext.BudgetTokensKey, out var t) && t is int i ? i : null;
        return new PlacedSession(modelId, ratio, tokens, 0);
    }

    /// <summary>The session's configuration as it was persisted (null for a grain without state, or with none yet).</summary>
    private async Task<PlacedSession?> FromStateAsync(GrainId grain)
    {
        if (services.GetKeyedService<IGrainStorage>(StarKvGrainsSiloExtensions.StorageName) is not { } storage)
        {
            return null;
        }

        var state = new GrainState<TrajectoryState>(new TrajectoryState());
        try
        {
            await storage.ReadStateAsync(TrajectoryGrain.StateName, grain, state).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Unreadable here: place by capacity alone; the activation itself reports what is wrong with the state.
            return null;
        }

        return state.State is { Config: { } config } saved
            ? new PlacedSession(config.ModelId, config.BudgetRatio, config.BudgetTokens, saved.KvBytes)
            : null;
    }

    private sealed record PlacedSession(string ModelId, double BudgetRatio, int? BudgetTokens, long HeldBytes);
}
