namespace StarKv.Grains.Placement;

/// <summary>
/// The cluster's view of its silos (one grain, key 0): the latest load report of each, drain flags, and the model of
/// each open session so that a session reactivated after a crash is placed on a silo serving its model.
/// </summary>
public interface ISiloLoadRegistryGrain : IGrainWithIntegerKey
{
    Task<SiloDirective> ReportAsync(SiloLoadReport report);

    /// <summary>Reports no older than the registry's expiry, newest first.</summary>
    Task<IReadOnlyList<SiloLoadReport>> GetReportsAsync();

    /// <summary>The silo serving <paramref name="modelId"/> with the most free KV bytes and room, except <paramref name="excludeSilo"/>.</summary>
    Task<PlacementChoice> ChooseSiloAsync(string modelId, string? excludeSilo);

    Task SetDrainingAsync(string silo, bool draining);

    Task RememberSessionAsync(string sessionKey, string modelId);

    Task ForgetSessionAsync(string sessionKey);

    Task<string?> GetSessionModelAsync(string sessionKey);
}
