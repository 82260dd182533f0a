using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Admin;

/// <summary>The outcome of a drain: how many sessions moved and how many were still there when the call returned.</summary>
public sealed record DrainOutcome(int MovedSessions, int RemainingSessions);

/// <summary>The admin operations of the cluster (list silos, move a session, drain and undrain a silo) over the grains.</summary>
public sealed class ClusterAdmin(IGrainFactory grains, TimeProvider clock)
{
    private ISiloLoadRegistryGrain Registry => grains.GetGrain<ISiloLoadRegistryGrain>(0);

    public Task<IReadOnlyList<SiloLoadReport>> ListSilosAsync() => Registry.GetReportsAsync();

    public Task<MigrationTicket> MigrateSessionAsync(SessionKey key, string? targetSilo)
    {
        ArgumentNullException.ThrowIfNull(key);
        return grains.GetGrain<ITrajectoryGrain>(key.ToString()).MigrateAsync(string.IsNullOrEmpty(targetSilo) ? null : targetSilo);
    }

    /// <summary>
    /// Marks <paramref name="silo"/> draining (no new sessions; it moves its sessions to the others) and waits until it
    /// reports none, or <paramref name="timeout"/> passes. The last silo serving its model is refused unless
    /// <paramref name="force"/>: nothing could take its sessions, and the model would take no new ones.
    /// </summary>
    public async Task<DrainOutcome> DrainSiloAsync(string silo, TimeSpan timeout, bool force, CancellationToken cancellationToken)
    {
        var reports = await Registry.GetReportsAsync().ConfigureAwait(false);
        var before = Find(reports, silo);
        var others = reports.Count(r => r.Silo != silo && r.ModelId == before.ModelId && !r.Draining);
        if (others == 0 && !force)
        {
            throw StarKvException.FailedPrecondition(
                $"silo {silo} is the last silo serving model '{before.ModelId}' that is not draining: draining it would leave its {before.Sessions} sessions nowhere to go and refuse every new session of the model; set force to drain it anyway.");
        }

        // Count the sessions from a report sent after this call began, so the number moved is not a stale one.
        var asked = clock.GetUtcNow().UtcDateTime;
        var deadline = clock.GetUtcNow() + timeout;
        while (before.ReceivedUtc <= asked && clock.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, cancellationToken).ConfigureAwait(false);
            before = (await Registry.GetReportsAsync().ConfigureAwait(false)).FirstOrDefault(r => r.Silo == silo) ?? before;
        }

        await Registry.SetDrainingAsync(silo, draining: true).ConfigureAwait(false);
        var drainSet = clock.GetUtcNow().UtcDateTime;
        while (true)
        {
            var now = (await Registry.GetReportsAsync().ConfigureAwait(false)).FirstOrDefault(r => r.Silo == silo);
            if (now is null)
            {
                return new DrainOutcome(before.Sessions, 0);
            }

            // Only a report sent after the drain flag was set tells how many sessions are left.
            var remaining = now.Sessions;
            if ((now.ReceivedUtc > drainSet && now.Draining && remaining == 0) || clock.GetUtcNow() >= deadline)
            {
                return new DrainOutcome(Math.Max(0, before.Sessions - remaining), remaining);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), clock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lets a drained silo take new sessions again; returns its report once it no longer says it drains.</summary>
    public async Task<SiloLoadReport> UndrainSiloAsync(string silo, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var report = Find(await Registry.GetReportsAsync().ConfigureAwait(false), silo);
        await Registry.SetDrainingAsync(silo, draining: false).ConfigureAwait(false);
        var deadline = clock.GetUtcNow() + timeout;
        while (report.Draining && clock.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, cancellationToken).ConfigureAwait(false);
            report = (await Registry.GetReportsAsync().ConfigureAwait(false)).FirstOrDefault(r => r.Silo == silo) ?? report;
        }

        return report;
    }

    private static SiloLoadReport Find(IReadOnlyList<SiloLoadReport> reports, string silo) =>
        reports.FirstOrDefault(r => r.Silo == silo)
        ?? throw StarKvException.NotFound($"silo {silo} is not a live silo (known: {string.Join(", ", reports.Select(r => r.Silo))}).");
}
