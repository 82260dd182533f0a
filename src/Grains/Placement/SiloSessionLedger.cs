using System.Collections.Concurrent;
using StarKv.Telemetry;

namespace StarKv.Grains.Placement;

/// <summary>
/// The sessions active on this silo, the KV bytes each holds and the bytes each is expected to hold
/// (<see cref="SessionFootprint"/>); the trajectory grains keep it current. It also publishes the bytes held as the
/// silo's <see cref="StarKvInstruments.KvBytes"/> (tag <c>silo</c>: this silo's Orleans address) when built with the
/// silo's details.
/// </summary>
public sealed class SiloSessionLedger(ILocalSiloDetails? siloDetails = null)
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly string? _silo = siloDetails?.SiloAddress.ToParsableString();

    public long KvBytesInUse => _sessions.Values.Sum(e => e.KvBytes);

    /// <summary>What young sessions are expected to add: the estimate above what each holds, summed.</summary>
    public long KvBytesReserved => _sessions.Values.Sum(e => Math.Max(0, e.EstimatedBytes - e.KvBytes));

    public int Count => _sessions.Count;

    public void Track(string sessionKey, long kvBytes, DateTime lastStepUtc, long estimatedBytes = 0)
    {
        _sessions[sessionKey] = new Entry(kvBytes, lastStepUtc, estimatedBytes);
        if (_silo is not null)
        {
            StarKvTelemetry.SetKvBytes(_silo, KvBytesInUse);
        }
    }

    public void Forget(string sessionKey)
    {
        if (_sessions.TryRemove(sessionKey, out _) && _silo is not null)
        {
            StarKvTelemetry.SetKvBytes(_silo, KvBytesInUse);
        }
    }

    public IReadOnlyList<KeyValuePair<string, Entry>> Snapshot() => [.. _sessions];

    /// <summary>One active session: its cache size, when it last stepped and the bytes it is expected to hold.</summary>
    public sealed record Entry(long KvBytes, DateTime LastStepUtc, long EstimatedBytes = 0);
}
