using StarKv.Grains.Checkpoints;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// The trajectory grain's <see cref="ISessionCheckpointBlobs"/> over an <see cref="IKvCheckpointStore"/> (Azure Blob,
/// filesystem or memory): frames each saved session in a <see cref="CheckpointEnvelope"/> with this silo's model
/// fingerprint, hands the grain <see cref="CheckpointReference.ToToken"/> as its string reference, and on the way
/// back checks length, SHA-256, format version and fingerprint before the runtime sees a byte. After each write it
/// prunes the session's checkpoints older than the previous step, which the persisted state may still name.
/// </summary>
public sealed class KvCheckpointSessionBlobs(IKvCheckpointStore store, IModelRuntime runtime) : ISessionCheckpointBlobs
{
    public async Task<string> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken)
    {
        var framed = CheckpointEnvelope.Wrap(checkpoint.Span, runtime.Fingerprint);
        var reference = await store.WriteAsync(sessionKey, stepIndex, framed, cancellationToken).ConfigureAwait(false);
        await store.PruneAsync(sessionKey, stepIndex - 1, cancellationToken).ConfigureAwait(false);
        return reference.ToToken();
    }

    public async Task<byte[]> ReadAsync(string reference, CancellationToken cancellationToken)
    {
        var parsed = CheckpointReference.ParseToken(reference);
        var framed = await store.ReadAsync(parsed, cancellationToken).ConfigureAwait(false);
        return CheckpointEnvelope.Unwrap(framed, runtime.Fingerprint).ToArray();
    }

    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken) => store.DeleteAsync(sessionKey, cancellationToken);
}
