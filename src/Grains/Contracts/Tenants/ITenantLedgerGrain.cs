namespace StarKv.Grains.Tenants;

/// <summary>What one tenant holds now.</summary>
[GenerateSerializer, Immutable]
public sealed record TenantUsage([property: Id(0)] int Sessions, [property: Id(1)] long KvBytes);

/// <summary>
/// One tenant's open sessions and their KV bytes (key: tenant id); the gateway checks quotas against it. Take a slot
/// through <see cref="SessionReservation"/>, which gives it back unless the session was created.
/// </summary>
public interface ITenantLedgerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts a new session against <paramref name="maxSessions"/>; refuses with RESOURCE_EXHAUSTED at the quota. Returns
    /// true when the slot is new, false when the session already held one (so only a new slot is the caller's to give back).
    /// </summary>
    Task<bool> ReserveSessionAsync(string sessionId, int maxSessions);

    Task ReleaseSessionAsync(string sessionId);

    Task ReportKvBytesAsync(string sessionId, long kvBytes);

    Task<TenantUsage> GetUsageAsync();
}
