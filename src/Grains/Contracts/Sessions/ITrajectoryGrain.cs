using Orleans.Concurrency;

namespace StarKv.Grains.Sessions;

/// <summary>
/// One agent trajectory, keyed <c>tenant/session</c> (<see cref="SessionKey"/>). Steps are idempotent by index:
/// a repeated index returns the stored result, a gap is refused. Every step ends with a checkpoint.
/// <para>
/// The cancellation tokens let a caller give up on a call (its silo was declared dead, its client went away) without
/// waiting for Orleans' response timeout; the grain itself finishes what it started, so a retried step replays it.
/// </para>
/// </summary>
public interface ITrajectoryGrain : IGrainWithStringKey
{
    /// <summary>Creates the session; the same configuration again answers the existing session, another one is refused.</summary>
    Task<SessionSnapshot> CreateAsync(SessionConfig config, CancellationToken cancellationToken = default);

    Task<StepRecord> StepAsync(StepInput input, CancellationToken cancellationToken = default);

    Task<SessionSnapshot> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Closes the session, frees its cache and deletes its checkpoints; returns the steps it took.</summary>
    Task<long> CloseAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Where the session's activation runs and what it is doing, answered at once even while a step runs (it
    /// interleaves): callers use it to tell a call still running from one lost with a dead silo.
    /// </summary>
    [AlwaysInterleave]
    Task<SessionWhereabouts> LocateAsync();

    /// <summary>
    /// Moves the activation to <paramref name="targetSilo"/> (or the best other silo) once it is idle. With
    /// <paramref name="onlyFromSilo"/> set, does nothing unless the session is on that silo (a drain's retries stay harmless).
    /// <paramref name="reason"/> is one of <c>MigrationReasons</c> (admin, drain, memory-pressure), for the metrics.
    /// </summary>
    Task<MigrationTicket> MigrateAsync(string? targetSilo, string? onlyFromSilo = null, string reason = "admin");
}
