using StarKv.Grains.Errors;

namespace StarKv.Grains.Tenants;

/// <summary>The open sessions persist (they bound the quota); KV bytes are refreshed by every step.</summary>
[GenerateSerializer]
public sealed class TenantLedgerState
{
    [Id(0)] public HashSet<string> Sessions { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class TenantLedgerGrain(
    [PersistentState("tenant", "checkpoints")] IPersistentState<TenantLedgerState> state) : Grain, ITenantLedgerGrain
{
    private readonly Dictionary<string, long> _kvBytes = new(StringComparer.Ordinal);

    public async Task ReserveSessionAsync(string sessionId, int maxSessions)
    {
        if (state.State.Sessions.Contains(sessionId))
        {
            return;
        }

        if (state.State.Sessions.Count >= maxSessions)
        {
            throw StarKvException.ResourceExhausted(
                $"Tenant '{this.GetPrimaryKeyString()}' has {state.State.Sessions.Count} open sessions, its quota (MaxSessions = {maxSessions}); close one first.");
        }

        state.State.Sessions.Add(sessionId);
        await state.WriteStateAsync().ConfigureAwait(true);
    }

    public async Task ReleaseSessionAsync(string sessionId)
    {
        _kvBytes.Remove(sessionId);
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
}
