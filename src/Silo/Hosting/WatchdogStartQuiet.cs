namespace StarKv.Silo.Hosting;

/// <summary>
/// Orleans' watchdog compares its participant-check timestamp before its own start has set it, and on a busy machine
/// its first look then reports a stall as long as the machine's uptime ("Participant check thread has not completed for
/// 01:42:26"). That first look comes within a second of the silo starting; the watchdog's category is held at Error until
/// then (<see cref="Category"/>) and this service returns it to the configured level a few seconds after start.
/// </summary>
internal sealed class WatchdogStartQuiet(IConfiguration configuration, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    public const string Category = "Logging:LogLevel:Orleans.Runtime.Watchdog";
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _ = RestoreAsync());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public void Dispose() => _stopping.Dispose();

    private async Task RestoreAsync()
    {
        try
        {
            await Task.Delay(Quiet, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        configuration[Category] = configuration["Logging:LogLevel:Orleans"] ?? configuration["Logging:LogLevel:Default"] ?? "Warning";
        (configuration as IConfigurationRoot)?.Reload();
    }
}
