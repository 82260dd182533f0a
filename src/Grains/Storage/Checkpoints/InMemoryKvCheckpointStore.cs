using System.Collections.Concurrent;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>Checkpoints in a dictionary, for tests: same names and checks as the durable stores, nothing survives the process.</summary>
public sealed class InMemoryKvCheckpointStore : IKvCheckpointStore
{
    private const string Where = "the in-memory checkpoint store";

    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    /// <summary>The names of the blobs held now.</summary>
    public IReadOnlyCollection<string> BlobNames => [.. _blobs.Keys];

    public Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reference = CheckpointBlobs.Describe(sessionKey, stepIndex, checkpoint);
        _blobs[reference.BlobName] = checkpoint.ToArray();
        return Task.FromResult(reference);
    }

    public async Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken)
    {
        var name = CheckpointBlobs.NewName(sessionKey, stepIndex);
        using var stream = new MemoryStream();
        var reference = await CheckpointBlobs.StreamAsync(stream, name, stepIndex, modelFingerprint, writePayload, cancellationToken).ConfigureAwait(false);
        _blobs[name] = stream.ToArray();
        return reference;
    }

    public Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckpointBlobs.CheckName(reference);
        if (!_blobs.TryGetValue(reference.BlobName, out var stored))
        {
            throw CheckpointBlobs.Missing(reference, Where, null);
        }

        return Task.FromResult(CheckpointBlobs.Verify(reference, (byte[])stored.Clone(), Where));
    }

    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var prefix = CheckpointBlobs.SessionPrefix(sessionKey);
        foreach (var name in _blobs.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            _blobs.TryRemove(name, out _);
        }

        return Task.CompletedTask;
    }

    public Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        cancellationToken.ThrowIfCancellationRequested();
        var prefix = CheckpointBlobs.SessionPrefix(sessionKey);
        var kept = keep.Select(k => k.BlobName).ToHashSet(StringComparer.Ordinal);
        foreach (var name in _blobs.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !kept.Contains(n)))
        {
            _blobs.TryRemove(name, out _);
        }

        return Task.CompletedTask;
    }

    /// <summary>Replaces a stored blob's bytes, to test how readers meet a damaged checkpoint.</summary>
    public void Overwrite(string blobName, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(bytes);
        if (!_blobs.ContainsKey(blobName))
        {
            throw new KeyNotFoundException($"No checkpoint blob '{blobName}' is stored.");
        }

        _blobs[blobName] = (byte[])bytes.Clone();
    }

    /// <summary>Drops one stored blob, to test how readers meet a lost checkpoint; false when there was none.</summary>
    public bool Remove(string blobName)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        return _blobs.TryRemove(blobName, out _);
    }
}
