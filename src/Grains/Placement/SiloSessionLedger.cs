using System.Collections.Concurrent;

namespace StarKv.Grains.Placement;

/// <summary>The sessions active on this silo and the KV bytes each holds; the trajectory grains keep it current.</summary>
public sealed class SiloSessionLedger
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);

    public long KvBytesInUse => _sessions.Values.Sum(e => e.KvBytes);

    public int Count => _sessions.Count;

    public void Track(string sessionKey, long kvBytes, DateTime lastStepUtc) => _sessions[sessionKey] = new Entry(kvBytes, lastStepUtc);

    public void Forget(string sessionKey) => _sessions.TryRemove(sessionKey, out _);

    public IReadOnlyList<KeyValuePair<string, Entry>> Snapshot() => [.. _sessions];

    /// <summary>One active session: its cache size and when it last stepped.</summary>
    public sealed record Entry(long KvBytes, DateTime LastStepUtc);
}
