namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// Where a session's KV checkpoints live, apart from the small grain state that references them. Each write
/// makes a new blob (never overwrites one a reference may point to); the grain persists the returned
/// reference; <see cref="PruneAsync"/> removes the older blobs.
/// </summary>
public interface IKvCheckpointStore
{
    /// <summary>
    /// Stores <paramref name="checkpoint"/>, which must be a <see cref="CheckpointEnvelope"/>, as a new blob of
    /// <paramref name="sessionKey"/>, and returns its reference (length, SHA-256, version, fingerprint).
    /// </summary>
    Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the referenced checkpoint, checking its length and SHA-256; throws
    /// <see cref="CheckpointStoreException"/> naming the blob when it is missing or differs.
    /// </summary>
    Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken);

    /// <summary>Deletes every checkpoint of <paramref name="sessionKey"/>; nothing to delete is no error.</summary>
    Task DeleteAsync(string sessionKey, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every checkpoint of <paramref name="sessionKey"/> except the one <paramref name="keep"/> references;
    /// call it once the persisted state names <paramref name="keep"/>.
    /// </summary>
    Task PruneAsync(string sessionKey, CheckpointReference keep, CancellationToken cancellationToken);
}
