using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Admin;

/// <summary>The outcome of a drain: how many sessions moved and how many were still there when the call returned.</summary>
public sealed record DrainOutcome(int MovedSessions, int RemainingSessions);

/// <summary>The admin operations of the cluster (list silos, move a session, drain a silo) over the grains.</summary>
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
    /// Marks <paramref name="silo"/> draining (no new sessions; the silo moves its sessions to the others on its next
    /// report) and waits until it reports none, or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<DrainOutcome> DrainSiloAsync(string silo, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var reports = await Registry.GetReportsAsync().ConfigureAwait(false);
        var before = reports.FirstOrDefault(r => r.Silo == silo)
            ?? throw StarKvException.NotFound($"silo {silo} is not a live silo (known: {string.Join(", ", reports.Select(r => r.Silo))}).");

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
        var remaining = before.Sessions;
        while (true)
        {
            var now = (await Registry.GetReportsAsync().ConfigureAwait(false)).FirstOrDefault(r => r.Silo == silo);
            if (now is null)
            {
                return new DrainOutcome(before.Sessions, 0);
            }

            // Only a report received after the drain flag was set tells how many sessions are left.
            remaining = now.Sessions;
            if ((now.ReceivedUtc > drainSet && remaining == 0) || clock.GetUtcNow() >= deadline)
            {
                return new DrainOutcome(Math.Max(0, before.Sessions - remaining), remaining);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), clock, cancellationToken).ConfigureAwait(false);
        }
    }
}
