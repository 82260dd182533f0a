using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Tenants;

/// <summary>The open sessions persist (they bound the quota); KV bytes are refreshed by every step.</summary>
[GenerateSerializer]
public sealed class TenantLedgerState
{
    [Id(0)] public HashSet<string> Sessions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>When each slot was taken (slots from before this field count as old).</summary>
    [Id(1)] public Dictionary<string, DateTime> ReservedUtc { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One tenant's session slots. At the quota it first reconciles: a slot whose session does not exist or is closed (a
/// reservation that was never given back, from before <see cref="SessionReservation"/> or from a process that died
/// between reserving and creating) is dropped, so a leaked slot costs a tenant nothing for long.
/// </summary>
internal sealed class TenantLedgerGrain(
    [PersistentState("tenant", "checkpoints")] IPersistentState<TenantLedgerState> state,
    TimeProvider clock) : Grain, ITenantLedgerGrain
{
    /// <summary>A slot younger than this may belong to a session being created right now; reconciling leaves it alone.</summary>
    internal static readonly TimeSpan CreationGrace = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan LocateTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, long> _kvBytes = new(StringComparer.Ordinal);

    public async Task<bool> ReserveSessionAsync(string sessionId, int maxSessions)
    {
        if (state.State.Sessions.Contains(sessionId))
        {
            return false;
        }

        if (state.State.Sessions.Count >= maxSessions)
        {
            await ReconcileAsync().ConfigureAwait(true);
        }

        if (state.State.Sessions.Count >= maxSessions)
        {
            throw StarKvException.ResourceExhausted(
                $"Tenant '{this.GetPrimaryKeyString()}' has {state.State.Sessions.Count} open sessions, its quota (MaxSessions = {maxSessions}); close one first.");
        }

        state.State.Sessions.Add(sessionId);
        state.State.ReservedUtc[sessionId] = clock.GetUtcNow().UtcDateTime;
        await state.WriteStateAsync().ConfigureAwait(true);
        return true;
    }

    public async Task ReleaseSessionAsync(string sessionId)
    {
        _kvBytes.Remove(sessionId);
        state.State.ReservedUtc.Remove(sessionId);
        if (state.State.Sessions.Remove(sessionId))
        {
            await state.WriteStateAsync().ConfigureAwait(true);
        }
    }

    public Task ReportKvBytesAsync(string sessionId, long kvBytes)
    {
        if (state.State.Sessions.Contains(sessionId))
        {
            _kvBytes[sessionId] = kvBytes;
        }

        return Task.CompletedTask;
    }

    public Task<TenantUsage> GetUsageAsync() => Task.FromResult(new TenantUsage(state.State.Sessions.Count, _kvBytes.Values.Sum()));

    private async Task ReconcileAsync()
    {
        var tenant = this.GetPrimaryKeyString();
        var settled = clock.GetUtcNow().UtcDateTime - CreationGrace;
        var candidates = state.State.Sessions
            .Where(id => !state.State.ReservedUtc.TryGetValue(id, out var at) || at <= settled)
            .ToList();
        var stale = new List<string>();
        foreach (var id in candidates)
        {
            try
            {
                var where = await GrainFactory.GetGrain<ITrajectoryGrain>(new SessionKey(tenant, id).ToString()).LocateAsync().WaitAsync(LocateTimeout).ConfigureAwait(true);
                if (!where.Exists || where.Closed)
                {
                    stale.Add(id);
                }
            }
            catch (Exception error) when (error is TimeoutException or OrleansException or StarKvException)
            {
                // Unknown (its silo is unreachable): the slot stays; the next reconciliation asks again.
            }
        }

        if (stale.Count == 0)
        {
            return;
        }

        foreach (var id in stale)
        {
            state.State.Sessions.Remove(id);
            state.State.ReservedUtc.Remove(id);
            _kvBytes.Remove(id);
        }

        await state.WriteStateAsync().ConfigureAwait(true);
    }
}
