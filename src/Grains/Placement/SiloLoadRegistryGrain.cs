using Microsoft.Extensions.Options;

namespace StarKv.Grains.Placement;

/// <summary>Keeps load reports in memory: silos re-send theirs every period, so a new activation of this grain refills within one.</summary>
internal sealed class SiloLoadRegistryGrain(IOptions<LoadReportOptions> options, TimeProvider clock) : Grain, ISiloLoadRegistryGrain
{
    private readonly Dictionary<string, SiloLoadReport> _reports = new(StringComparer.Ordinal);
    private readonly HashSet<string> _draining = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _sessionModels = new(StringComparer.Ordinal);

    public Task<SiloDirective> ReportAsync(SiloLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var draining = _draining.Contains(report.Silo);
        _reports[report.Silo] = report with { ReceivedUtc = clock.GetUtcNow().UtcDateTime, Draining = draining };
        return Task.FromResult(new SiloDirective(draining));
    }

    public Task<IReadOnlyList<SiloLoadReport>> GetReportsAsync() => Task.FromResult<IReadOnlyList<SiloLoadReport>>(Fresh());

    /// <summary>
    /// Chooses a silo and counts the placement against it until that silo's next report: one more session holding
    /// the silo's mean KV bytes per session. Without this, every session placed between two reports would go to
    /// the same silo.
    /// </summary>
    public Task<PlacementChoice> ChooseSiloAsync(string modelId, string? excludeSilo)
    {
        var choice = KvCapacityChooser.Choose(Fresh(), modelId, excludeSilo is null ? null : [excludeSilo]);
        if (choice.Silo is { } silo && _reports.TryGetValue(silo, out var report))
        {
            var perSession = report.Sessions > 0 ? report.KvBytesInUse / report.Sessions : 0;
            _reports[silo] = report with { Sessions = report.Sessions + 1, KvBytesInUse = report.KvBytesInUse + perSession };
        }

        return Task.FromResult(choice);
    }

    public Task SetDrainingAsync(string silo, bool draining)
    {
        if (draining)
        {
            _draining.Add(silo);
            if (_reports.TryGetValue(silo, out var report))
            {
                _reports[silo] = report with { Draining = true };
            }
        }
        else
        {
            _draining.Remove(silo);
        }

        return Task.CompletedTask;
    }

    public Task RememberSessionAsync(string sessionKey, string modelId)
    {
        _sessionModels[sessionKey] = modelId;
        return Task.CompletedTask;
    }

    public Task ForgetSessionAsync(string sessionKey)
    {
        _sessionModels.Remove(sessionKey);
        return Task.CompletedTask;
    }

    public Task<string?> GetSessionModelAsync(string sessionKey) =>
        Task.FromResult(_sessionModels.TryGetValue(sessionKey, out var model) ? model : null);

    private List<SiloLoadReport> Fresh()
    {
        var oldest = clock.GetUtcNow().UtcDateTime - options.Value.Expiry;
        return [.. _reports.Values.Where(r => r.ReceivedUtc >= oldest).OrderByDescending(r => r.ReceivedUtc)];
    }
}
