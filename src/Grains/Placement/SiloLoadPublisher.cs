using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Sessions;
using StarKv.Telemetry;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Placement;

/// <summary>
/// The silo's side of placement. While the silo is active it reports its load every period and acts on the answer: a
/// draining silo moves all its sessions away; a silo above its high watermark moves its largest idle sessions until it
/// is below. On graceful shutdown it marks itself draining and moves its sessions before the grains deactivate.
/// </summary>
internal sealed partial class SiloLoadPublisher(
    IGrainFactory grains,
    IModelRuntime runtime,
    SiloSessionLedger ledger,
    ILocalSiloDetails siloDetails,
    IOptions<CapacityOptions> capacity,
    IOptions<LoadReportOptions> reporting,
    TimeProvider clock,
    ILogger<SiloLoadPublisher> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _moving = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    private string Silo => siloDetails.SiloAddress.ToParsableString();

    private ISiloLoadRegistryGrain Registry => grains.GetGrain<ISiloLoadRegistryGrain>(0);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloLoadPublisher), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    /// <summary>Reports once now and returns the registry's directive.</summary>
    public Task<SiloDirective> PublishAsync() => Registry.ReportAsync(new SiloLoadReport
    {
        Silo = Silo,
        Device = runtime.Device,
        ModelId = runtime.ModelId,
        KvBudgetBytes = capacity.Value.KvBudgetBytes,
        KvBytesInUse = ledger.KvBytesInUse,
        Sessions = ledger.Count,
        HighWatermark = capacity.Value.HighWatermark,
    });

    private async Task OnStartAsync(CancellationToken cancellationToken)
    {
        await PublishAsync().ConfigureAwait(false);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await Registry.SetDrainingAsync(Silo, draining: true).ConfigureAwait(false);
            var deadline = clock.GetUtcNow() + reporting.Value.ShutdownMoveTimeout;
            while (ledger.Count > 0 && clock.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
            {
                await MoveAsync(ledger.Snapshot().Select(e => e.Key), retry: true, MigrationReasons.Drain).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            LogShutdownMoveFailed(logger, error, Silo);
        }
        finally
        {
            // A stopped silo holds no KV bytes; its gauge series ends here rather than repeating the last value.
            StarKvTelemetry.ForgetSilo(Silo);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(reporting.Value.Period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    var directive = await PublishAsync().ConfigureAwait(false);
                    if (directive.Drain)
                    {
                        await MoveAsync(ledger.Snapshot().Select(e => e.Key), retry: false, MigrationReasons.Drain).ConfigureAwait(false);
                    }
                    else
                    {
                        await RelievePressureAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    LogPublishFailed(logger, error, Silo);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
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

        if (victims.Count > 0)
        {
            LogPressure(logger, Silo, ledger.KvBytesInUse, limit, victims.Count);
            await MoveAsync(victims, retry: false, MigrationReasons.MemoryPressure).ConfigureAwait(false);
        }
    }

    private async Task MoveAsync(IEnumerable<string> sessionKeys, bool retry, string reason)
    {
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
                LogMoveFailed(logger, error, key, Silo);
            }
        }

        _moving.IntersectWith(ledger.Snapshot().Select(e => e.Key));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not publish its load")]
    private static partial void LogPublishFailed(ILogger logger, Exception error, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Key} could not move off silo {Silo}")]
    private static partial void LogMoveFailed(ILogger logger, Exception error, string key, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not move all sessions away while shutting down")]
    private static partial void LogShutdownMoveFailed(ILogger logger, Exception error, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} holds {InUse} KV bytes, above its high watermark {Limit}: moving {Count} idle sessions")]
    private static partial void LogPressure(ILogger logger, string silo, long inUse, long limit, int count);
}
