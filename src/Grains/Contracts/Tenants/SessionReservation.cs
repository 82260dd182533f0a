namespace StarKv.Grains.Tenants;

/// <summary>
/// A tenant's slot for a session being created, as one construct: reserved when made, given back when disposed unless
/// <see cref="Keep"/> was called after the session was created. Whatever fails in between (an unknown method, a closed
/// id, a silo gone, any exception) leaves the quota as it was. A slot the session already held is never given back.
/// <code>
/// await using var slot = await SessionReservation.ReserveAsync(ledger, id, max);
/// var created = await grain.CreateAsync(config);
/// slot.Keep();
/// </code>
/// </summary>
public sealed class SessionReservation : IAsyncDisposable
{
    private readonly ITenantLedgerGrain _ledger;
    private readonly string _sessionId;
    private readonly Action<Exception>? _releaseFailed;
    private bool _giveBack;

    private SessionReservation(ITenantLedgerGrain ledger, string sessionId, bool isNew, Action<Exception>? releaseFailed)
    {
        _ledger = ledger;
        _sessionId = sessionId;
        _giveBack = isNew;
        _releaseFailed = releaseFailed;
    }

    /// <summary>Whether this reservation took a new slot (false: the session held one already).</summary>
    public bool IsNew { get; private init; }

    /// <summary>Takes the slot; throws the ledger's RESOURCE_EXHAUSTED at the quota.</summary>
    /// <param name="ledger">The tenant's ledger.</param>
    /// <param name="sessionId">The session id (without the tenant).</param>
    /// <param name="maxSessions">The tenant's quota.</param>
    /// <param name="releaseFailed">Told when giving the slot back failed (the ledger reconciles it later).</param>
    public static async Task<SessionReservation> ReserveAsync(ITenantLedgerGrain ledger, string sessionId, int maxSessions, Action<Exception>? releaseFailed = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(sessionId);
        var isNew = await ledger.ReserveSessionAsync(sessionId, maxSessions).ConfigureAwait(false);
        return new SessionReservation(ledger, sessionId, isNew, releaseFailed) { IsNew = isNew };
    }

    /// <summary>The session exists: the slot stays taken until the session is closed.</summary>
    public void Keep() => _giveBack = false;

    public async ValueTask DisposeAsync()
    {
        if (!_giveBack)
        {
            return;
        }

        _giveBack = false;
        try
        {
            await _ledger.ReleaseSessionAsync(_sessionId).ConfigureAwait(false);
        }
        catch (Exception error) when (_releaseFailed is not null)
        {
            // Never hide the failure that got us here behind this one; the ledger drops slots of sessions that do not exist
            // when a tenant reaches its quota.
            _releaseFailed(error);
        }
    }
}
