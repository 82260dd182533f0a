using System.Collections.Concurrent;
using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;

namespace StarKv.Gateway.Sessions;

/// <summary>
/// The gateway's calls to trajectory grains. Orleans' client never gives up on a call whose silo died until its response
/// timeout (minutes, since a step may take that long), so every call is tracked here with a token that
/// <see cref="ReleaseLostAsync"/> cancels once the cluster has declared a silo dead (<see cref="SiloLiveness"/>) and the
/// session's activation is not running that call: the caller then answers UNAVAILABLE, and the client's retry of the
/// same step index lands on the session's new silo. A call that is still running elsewhere is left alone.
/// </summary>
public sealed partial class SessionCalls(IGrainFactory grains, TimeProvider clock, ILogger<SessionCalls> logger)
{
    /// <summary>Request-context key carrying the id of the gateway call, so the grain can say which call it is running.</summary>
    public const string CallIdKey = TrajectoryCallContext.Key;

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    private readonly ConcurrentDictionary<string, Call> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Calls running now.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Runs <paramref name="call"/> on the session's grain; UNAVAILABLE if its silo is declared dead meanwhile.</summary>
    public async Task<T> RunAsync<T>(SessionKey key, Func<ITrajectoryGrain, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(call);
        using var release = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var id = Guid.NewGuid().ToString("N");
        var tracked = new Call(key, release, clock.GetTimestamp());
        _inFlight[id] = tracked;
        RequestContext.Set(CallIdKey, id);
        try
        {
            return await call(grains.GetGrain<ITrajectoryGrain>(key.ToString()), release.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (tracked.LostWith is { } silos)
        {
            throw StarKvException.Unavailable(
                $"The silo serving session '{key.Session}' left the cluster ({silos}) while the call ran; retry it: the session resumes on another silo from its last checkpoint.");
        }
        finally
        {
            RequestContext.Remove(CallIdKey);
            _inFlight.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// The cluster declared <paramref name="lostSilos"/> dead: asks each in-flight call's session where it runs now and
    /// releases the calls no live activation is running. Returns how many were released.
    /// </summary>
    public async Task<int> ReleaseLostAsync(IReadOnlyCollection<string> lostSilos, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lostSilos);
        var lost = string.Join(", ", lostSilos);
        var released = 0;
        await Parallel.ForEachAsync(_inFlight.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (pair, token) =>
        {
            var (id, tracked) = pair;
            string? runningHere;
            try
            {
                var where = await grains.GetGrain<ITrajectoryGrain>(tracked.Key.ToString()).LocateAsync().WaitAsync(ProbeTimeout, token).ConfigureAwait(false);
                runningHere = where.RunningCall;
            }
            catch (Exception error) when (error is TimeoutException or OrleansException or StarKvException)
            {
                runningHere = null;
            }

            if (runningHere != id && _inFlight.ContainsKey(id))
            {
                tracked.Release(lost);
                Interlocked.Increment(ref released);
            }
        }).ConfigureAwait(false);

        if (released > 0)
        {
            LogReleased(logger, released, lost);
        }

        return released;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} calls whose sessions were on silos that left the cluster ({Silos}); their clients retry on the sessions' new silos")]
    private static partial void LogReleased(ILogger logger, int count, string silos);

    private sealed class Call(SessionKey key, CancellationTokenSource release, long startedAt)
    {
        private string? _lostWith;

        public SessionKey Key { get; } = key;

        public long StartedAt { get; } = startedAt;

        public string? LostWith => Volatile.Read(ref _lostWith);

        public void Release(string silos)
        {
            Volatile.Write(ref _lostWith, silos);
            try
            {
                release.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call ended meanwhile.
            }
        }
    }
}
