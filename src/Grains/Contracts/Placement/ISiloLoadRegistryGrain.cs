namespace StarKv.Grains.Placement;

/// <summary>
/// The cluster's view of its silos (key 0). Every silo sends its load report to every silo each period, so each silo
/// holds the whole view and no single activation's loss takes it away: this grain is a stateless worker that answers
/// from the view of the silo it runs on. Drain flags belong to the silos themselves (their reports carry them).
/// </summary>
public interface ISiloLoadRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Reports of live silos no older than the expiry, newest first.</summary>
    Task<IReadOnlyList<SiloLoadReport>> GetReportsAsync();

    /// <summary>The silo serving <paramref name="modelId"/> with the most free KV bytes and room, except <paramref name="excludeSilo"/>.</summary>
    Task<PlacementChoice> ChooseSiloAsync(string modelId, string? excludeSilo);

    /// <summary>Tells <paramref name="silo"/> to drain (take no sessions, move its own away) or to take sessions again.</summary>
    Task SetDrainingAsync(string silo, bool draining);
}
