namespace StarKv.Gateway.Sessions;

/// <summary>
/// Watches which silos the cluster holds active (Orleans' management grain answers from its silo's membership view,
/// every <see cref="Period"/>); when silos leave, <see cref="SessionCalls.ReleaseLostAsync"/> frees the calls that were
/// waiting on them. Membership declares a killed silo dead within about ten seconds; this adds at most one period.
/// </summary>
public sealed partial class SiloLiveness(IGrainFactory grains, SessionCalls calls, ILogger<SiloLiveness> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(2);

    private HashSet<string> _active = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await CheckAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    // Never let one bad look stop the watch (a background service that throws stops the host).
                    LogCheckFailed(logger, error.GetType().Name, error.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One look at the membership; returns the silos that left since the last look.</summary>
    public async Task<IReadOnlyCollection<string>> CheckAsync(CancellationToken cancellationToken)
    {
        HashSet<string> now;
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(QueryTimeout, cancellationToken).ConfigureAwait(false);
            now = hosts.Keys.Select(s => s.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception error) when (error is TimeoutException or OrleansException or InvalidOperationException)
        {
            // The silo answering for this client is unreachable (perhaps the dead one): look again next period.
            return [];
        }

        var lost = _active.Where(s => !now.Contains(s)).ToList();
        _active = now;
        if (lost.Count > 0)
        {
            LogSilosLeft(logger, string.Join(", ", lost), calls.InFlight);
            await calls.ReleaseLostAsync(lost, cancellationToken).ConfigureAwait(false);
        }

        return lost;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check the cluster's membership ({Type}: {Reason}); trying again next period")]
    private static partial void LogCheckFailed(ILogger logger, string type, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silos left the cluster: {Silos}; checking the {Count} calls in flight")]
    private static partial void LogSilosLeft(ILogger logger, string silos, int count);
}
