namespace StarKv.Grains.Sessions;

/// <summary>
/// One agent trajectory, keyed <c>tenant/session</c> (<see cref="SessionKey"/>). Steps are idempotent by index:
/// a repeated index returns the stored result, a gap is refused. Every step ends with a checkpoint.
/// </summary>
public interface ITrajectoryGrain : IGrainWithStringKey
{
    /// <summary>Creates the session; the same configuration again answers the existing session, another one is refused.</summary>
    Task<SessionSnapshot> CreateAsync(SessionConfig config);

    Task<StepRecord> StepAsync(StepInput input);

    Task<SessionSnapshot> GetAsync();

    /// <summary>Closes the session, frees its cache and deletes its checkpoints; returns the steps it took.</summary>
    Task<long> CloseAsync();

    /// <summary>
    /// Moves the activation to <paramref name="targetSilo"/> (or the best other silo) once it is idle. With
    /// <paramref name="onlyFromSilo"/> set, does nothing unless the session is on that silo (a drain's retries stay harmless).
    /// <paramref name="reason"/> is one of <c>MigrationReasons</c> (admin, drain, memory-pressure), for the metrics.
    /// </summary>
    Task<MigrationTicket> MigrateAsync(string? targetSilo, string? onlyFromSilo = null, string reason = "admin");
}
