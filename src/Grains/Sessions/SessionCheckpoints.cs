using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Sessions;

/// <summary>
/// A trajectory's checkpoint chain on the silo's <see cref="IKvCheckpointStore"/>: one full checkpoint and the deltas
/// written after it (<see cref="TrajectoryState"/>). Writes captured checkpoints streamed (serialised on a worker thread
/// straight into the store, hashed once on the way), reads a chain back, and deletes the blobs a chain no longer needs.
/// </summary>
public sealed class SessionCheckpoints(IKvCheckpointStore store, IOptions<SessionCheckpointOptions> options)
{
    /// <summary>See <see cref="SessionCheckpointOptions.FullEvery"/>.</summary>
    public int FullEvery => options.Value.FullEvery;

    /// <summary>Streams <paramref name="checkpoint"/> into a new blob of <paramref name="sessionKey"/>; returns once it is durable.</summary>
    public Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, ISessionCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return store.WriteAsync(
            sessionKey,
            stepIndex,
            modelFingerprint,
            (destination, token) => Task.Run(() => checkpoint.WriteTo(destination, token), token),
            cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="checkpoint"/> on the thread pool, outside any grain's scheduler, and disposes it when done,
    /// written or not.
    /// </summary>
    public Task<CheckpointReference> WriteInBackground(string sessionKey, long stepIndex, string modelFingerprint, ISessionCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Task.Run(async () =>
        {
            using (checkpoint)
            {
                return await WriteAsync(sessionKey, stepIndex, modelFingerprint, checkpoint, cancellationToken).ConfigureAwait(false);
            }
        });
    }

    /// <summary>
    /// Reads a chain (its full checkpoint, then its deltas in order), checking each blob's length and SHA-256 and its
    /// envelope's version and model; returns the payloads and how many bytes were read.
    /// </summary>
    public async Task<(IReadOnlyList<ReadOnlyMemory<byte>> Payloads, long Bytes)> ReadChainAsync(IReadOnlyList<CheckpointReference> chain, string modelFingerprint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var payloads = new List<ReadOnlyMemory<byte>>(chain.Count);
        long bytes = 0;
        foreach (var reference in chain)
        {
            var blob = await store.ReadAsync(reference, cancellationToken).ConfigureAwait(false);
            bytes += blob.Length;
            payloads.Add(CheckpointEnvelope.Unwrap(blob, modelFingerprint));
        }

        return (payloads, bytes);
    }

    /// <summary>Deletes the session's blobs that <paramref name="chain"/> does not name; call it once the state naming the chain is durable.</summary>
    public Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> chain, CancellationToken cancellationToken) =>
        store.PruneAsync(sessionKey, chain, cancellationToken);

    /// <summary>Deletes every blob of the session.</summary>
    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken) => store.DeleteAsync(sessionKey, cancellationToken);
}
