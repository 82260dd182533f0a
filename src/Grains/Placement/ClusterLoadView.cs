using Microsoft.Extensions.Options;

namespace StarKv.Grains.Placement;

/// <summary>
/// This silo's view of every silo's load: the latest report each silo sent it (every silo sends its report to every
/// silo each period, see <see cref="SiloLoadPublisher"/>), plus the sessions this silo placed since. A silo that left
/// the cluster or stopped reporting for longer than the expiry drops out. Every silo holds the whole view, so losing
/// any one silo loses nothing but that silo's own report.
/// </summary>
public sealed class ClusterLoadView(IOptions<LoadReportOptions> options, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SiloLoadReport> _reports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Placed>> _placed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal);

    /// <summary>Takes a report in, stamped with this silo's clock; reports of silos known to be gone are ignored.</summary>
    public void Receive(SiloLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var now = clock.GetUtcNow().UtcDateTime;
        lock (_gate)
        {
            if (_gone.Contains(report.Silo))
            {
                return;
            }

            _reports[report.Silo] = report with { ReceivedUtc = now };
        }
    }

    /// <summary>The cluster's membership declared <paramref name="silo"/> dead or gone: forget it at once.</summary>
    public void Forget(string silo)
    {
        lock (_gate)
        {
            _gone.Add(silo);
            _reports.Remove(silo);
            _placed.Remove(silo);
        }
    }

    /// <summary>
    /// Counts a session placed on <paramref name="silo"/> (here or, announced, by another silo) for two report periods,
    /// by then the silo's own reports count it: without this every session placed between two reports would go to the
    /// same silo. Counting a session twice for a moment spreads a burst a little more, never less.
    /// </summary>
    public void CountPlacement(string silo, long estimatedBytes)
    {
        lock (_gate)
        {
            if (!_placed.TryGetValue(silo, out var placed))
            {
                _placed[silo] = placed = [];
            }

            placed.Add(new Placed(clock.GetUtcNow().UtcDateTime, Math.Max(0, estimatedBytes)));
        }
    }

    /// <summary>Fresh reports (the bytes of the placements of the last two periods added to the reserved bytes), newest first.</summary>
    public IReadOnlyList<SiloLoadReport> Reports()
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var oldest = now - options.Value.Expiry;
        var recent = now - (2 * options.Value.Period);
        lock (_gate)
        {
            foreach (var placed in _placed.Values)
            {
                placed.RemoveAll(p => p.AtUtc < recent);
            }

            return [.. _reports.Values
                .Where(r => r.ReceivedUtc >= oldest)
                .Select(r => _placed.TryGetValue(r.Silo, out var placed) && placed.Count > 0
                    ? r with { KvBytesReserved = r.KvBytesReserved + placed.Sum(p => p.Bytes) }
                    : r)
                .OrderByDescending(r => r.ReceivedUtc)];
        }
    }

    private readonly record struct Placed(DateTime AtUtc, long Bytes);
}
