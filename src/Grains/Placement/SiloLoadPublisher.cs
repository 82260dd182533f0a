using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Sessions;
using StarKv.Telemetry;

namespace StarKv.Grains.Placement;

/// <summary>
/// The silo's side of placement. While the silo is active it sends its load report to every live silo each period (so
/// every silo's <see cref="ClusterLoadView"/> holds the whole cluster) and acts on its own state: a draining silo moves its
/// sessions away; a silo above its high watermark moves its largest idle sessions until it is below. The drain flag is
/// the silo's own (set through <see cref="SiloControlGrain"/>), carried by its reports. On graceful shutdown it drains
/// itself, retrying with backoff until its sessions are gone, nowhere can take them, or time is up, and logs one summary.
/// Drain states are logged once per change, never once per session and tick.
/// </summary>
internal sealed partial class SiloLoadPublisher(
    IGrainFactory grains,
    IModelRuntime runtime,
    SiloSessionLedger ledger,
    ClusterLoadView view,
    IClusterMembershipService membership,
    ILocalSiloDetails siloDetails,
    IOptions<CapacityOptions> capacity,
    IOptions<LoadReportOptions> reporting,
    TimeProvider clock,
    ILogger<SiloLoadPublisher> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _moving = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _acting = new(1, 1);
    private Task _loop = Task.CompletedTask;
    private volatile bool _draining;
    private string? _drainState;

    private string Silo => siloDetails.SiloAddress.ToParsableString();

    public bool Draining => _draining;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloLoadPublisher), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    /// <summary>Sends this silo's report to its own view and to every other live silo's, now.</summary>
    public void Publish()
    {
        var report = new SiloLoadReport
        {
            Silo = Silo,
            Device = runtime.Device,
            ModelId = runtime.ModelId,
            KvBudgetBytes = capacity.Value.KvBudgetBytes,
            KvBytesInUse = ledger.KvBytesInUse,
            KvBytesReserved = ledger.KvBytesReserved,
            KvBytesPerToken = runtime.KvBytesPerToken,
            Sessions = ledger.Count,
            HighWatermark = capacity.Value.HighWatermark,
            Draining = _draining,
            ReceivedUtc = clock.GetUtcNow().UtcDateTime,
        };
        view.Receive(report);
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            var address = member.SiloAddress.ToParsableString();
            if (member.Status is SiloStatus.Dead)
            {
                view.Forget(address);
            }
            else if (member.Status is SiloStatus.Active && address != report.Silo)
            {
                // One-way: a silo that is slow or dead (not yet declared) never holds this loop up.
                _ = grains.GetGrain<ISiloControlGrain>(address).ReceiveReportAsync(report);
            }
        }
    }

    /// <summary>Starts or stops draining this silo (an admin's DrainSilo and UndrainSilo); the next report carries it.</summary>
    public async Task SetDrainingAsync(bool draining)
    {
        if (_draining == draining)
        {
            return;
        }

        _draining = draining;
        if (draining)
        {
            LogDrainStarted(logger, Silo, ledger.Count);
        }
        else
        {
            _drainState = null;
            LogUndrained(logger, Silo);
        }

        Publish();
        if (draining)
        {
            await ActAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _acting.Dispose();
    }

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        Publish();
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        var started = clock.GetTimestamp();
        var before = ledger.Count;
        string? stuck = null;
        try
        {
            _draining = true;
            Publish();
            var deadline = clock.GetUtcNow() + reporting.Value.ShutdownMoveTimeout;
            var wait = FirstRetry;
            while (ledger.Count > 0 && clock.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
            {
                if (Destination() is { Silo: null } nowhere)
                {
                    stuck = nowhere.Reason;
                    break;
                }

                var failures = await MoveAsync(ledger.Snapshot().Select(e => e.Key), retry: true, MigrationReasons.Drain).ConfigureAwait(false);
                stuck = failures.Count == 0 ? null : Describe(failures);
                await Task.Delay(wait, clock, CancellationToken.None).ConfigureAwait(false);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestRetry.Ticks));
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            stuck = error.Message;
        }
        finally
        {
            var seconds = clock.GetElapsedTime(started).TotalSeconds;
            var left = ledger.Count;
            if (before == 0)
            {
                // Nothing to hand over, nothing to say.
            }
            else if (left == 0)
            {
                LogShutdownMoved(logger, Silo, before, seconds);
            }
            else
            {
                LogShutdownLeft(logger, Silo, before - left, left, seconds, stuck ?? $"they did not move within StarKv's shutdown move timeout ({reporting.Value.ShutdownMoveTimeout.TotalSeconds:0.#} s)");
            }

            // A stopped silo holds no KV bytes; its gauge series ends here rather than repeating the last value.
            StarKvTelemetry.ForgetSilo(Silo);
        }
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(reporting.Value.Period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    Publish();
                    await ActAsync().ConfigureAwait(false);
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    LogPublishFailed(logger, Silo, error.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>One round of what the silo's state asks for: move everything away (draining) or relieve pressure.</summary>
    private async Task ActAsync()
    {
        await _acting.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_draining)
            {
                await DrainRoundAsync().ConfigureAwait(false);
            }
            else
            {
                await RelievePressureAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _acting.Release();
        }
    }

    private async Task DrainRoundAsync()
    {
        var count = ledger.Count;
        string state;
        if (count == 0)
        {
            state = "empty";
        }
        else if (Destination() is { Silo: null } nowhere)
        {
            state = $"stuck: {nowhere.Reason}";
        }
        else
        {
            var failures = await MoveAsync(ledger.Snapshot().Select(e => e.Key), retry: false, MigrationReasons.Drain).ConfigureAwait(false);
            state = failures.Count == 0 ? "moving" : $"stuck: {Describe(failures)}";
        }

        if (state == _drainState)
        {
            return;
        }

        _drainState = state;
        if (state == "empty")
        {
            LogDrained(logger, Silo);
        }
        else if (state.StartsWith("stuck: ", StringComparison.Ordinal))
        {
            LogDrainStuck(logger, Silo, count, state["stuck: ".Length..]);
        }
    }

    /// <summary>Above the high watermark: move the largest idle sessions until the rest fit under it.</summary>
    private async Task RelievePressureAsync()
    {
        var limit = (long)(capacity.Value.KvBudgetBytes * capacity.Value.HighWatermark);
        var inUse = ledger.KvBytesInUse;
        if (inUse <= limit)
        {
            return;
        }

        var idleSince = clock.GetUtcNow().UtcDateTime - reporting.Value.IdleAfter;
        var victims = new List<string>();
        foreach (var (key, entry) in ledger.Snapshot().Where(e => e.Value.LastStepUtc <= idleSince).OrderByDescending(e => e.Value.KvBytes))
        {
            if (inUse <= limit)
            {
                break;
            }

            victims.Add(key);
            inUse -= entry.KvBytes;
        }

        if (victims.Count > 0 && Destination() is { Silo: not null })
        {
            LogPressure(logger, Silo, ledger.KvBytesInUse, limit, victims.Count);
            await MoveAsync(victims, retry: false, MigrationReasons.MemoryPressure).ConfigureAwait(false);
        }
    }

    /// <summary>Where this silo's sessions could go, from this silo's view (it serves one model).</summary>
    private PlacementChoice Destination() => KvCapacityChooser.Choose(view.Reports(), runtime.ModelId, [Silo]);

    /// <summary>Asks each session to move; returns the failures (their messages) without logging each.</summary>
    private async Task<List<string>> MoveAsync(IEnumerable<string> sessionKeys, bool retry, string reason)
    {
        var failures = new List<string>();
        foreach (var key in sessionKeys)
        {
            if (!retry && !_moving.Add(key))
            {
                continue;
            }

            try
            {
                await grains.GetGrain<ITrajectoryGrain>(key).MigrateAsync(targetSilo: null, onlyFromSilo: Silo, reason).ConfigureAwait(false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                _moving.Remove(key);
                failures.Add(error.Message);
            }
        }

        _moving.IntersectWith(ledger.Snapshot().Select(e => e.Key));
        return failures;
    }

    private static string Describe(List<string> failures) =>
        string.Create(CultureInfo.InvariantCulture, $"{failures.Count} could not move, for example: {failures[0]}");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not publish its load: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} is draining: it takes no new sessions and moves its {Count} sessions to other silos")]
    private static partial void LogDrainStarted(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} holds no sessions any more (draining)")]
    private static partial void LogDrained(ILogger logger, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} is draining but cannot move its {Count} sessions: {Reason}. It keeps serving them; UndrainSilo lets it take new sessions again")]
    private static partial void LogDrainStuck(ILogger logger, string silo, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} takes new sessions again (undrained)")]
    private static partial void LogUndrained(ILogger logger, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} handed its {Count} sessions to other silos in {Seconds:0.0} s before stopping")]
    private static partial void LogShutdownMoved(ILogger logger, string silo, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} stops after {Seconds:0.0} s with {Left} sessions not moved ({Moved} moved): {Reason}. They resume from their last checkpoint on the next silo serving their model")]
    private static partial void LogShutdownLeft(ILogger logger, string silo, int moved, int left, double seconds, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} holds {InUse} KV bytes, above its high watermark {Limit}: moving {Count} idle sessions")]
    private static partial void LogPressure(ILogger logger, string silo, long inUse, long limit, int count);
}
