namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>Writes a checkpoint's payload into a store's stream as it serialises it.</summary>
/// <param name="destination">Where the payload goes (buffered and hashed on the way; do not dispose it).</param>
/// <param name="cancellationToken">Stops the write.</param>
public delegate Task CheckpointPayloadWriter(Stream destination, CancellationToken cancellationToken);

/// <summary>
/// Where a session's KV checkpoints live, apart from the small grain state that references them. Each write
/// makes a new blob (never overwrites one a reference may point to); the grain persists the returned
/// reference; <see cref="PruneAsync"/> removes the blobs no reference needs any more.
/// </summary>
public interface IKvCheckpointStore
{
    /// <summary>
    /// Stores <paramref name="checkpoint"/>, which must be a <see cref="CheckpointEnvelope"/>, as a new blob of
    /// <paramref name="sessionKey"/>, and returns its reference (length, SHA-256, version, fingerprint).
    /// </summary>
    Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Streams a checkpoint into a new blob of <paramref name="sessionKey"/>: a <see cref="CheckpointEnvelope"/> header for
    /// <paramref name="modelFingerprint"/>, then the payload <paramref name="writePayload"/> writes as it serialises it.
    /// Nothing is buffered whole; the bytes are hashed once (SHA-256) on their way. Returns once the blob is durable.
    /// </summary>
    Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the referenced checkpoint, checking its length and SHA-256; throws
    /// <see cref="CheckpointStoreException"/> naming the blob when it is missing or differs.
    /// </summary>
    Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken);

    /// <summary>Deletes every checkpoint of <paramref name="sessionKey"/>; nothing to delete is no error.</summary>
    Task DeleteAsync(string sessionKey, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every checkpoint of <paramref name="sessionKey"/> except the ones <paramref name="keep"/> references;
    /// call it once the persisted state names them.
    /// </summary>
    Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> keep, CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="IKvCheckpointStore"/>.</summary>
public static class KvCheckpointStoreExtensions
{
    /// <summary>Deletes every checkpoint of <paramref name="sessionKey"/> except the one <paramref name="keep"/> references.</summary>
    public static Task PruneAsync(this IKvCheckpointStore store, string sessionKey, CheckpointReference keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(keep);
        return store.PruneAsync(sessionKey, [keep], cancellationToken);
    }
}
