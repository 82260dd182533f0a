using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// Checkpoints as block blobs <c>kv/{session}/{step:D12}-{id}.kvc</c> in one container (created on the first
/// write when missing). Each write is a new blob, uploaded (or streamed block by block) with <c>If-None-Match: *</c>.
/// </summary>
public sealed class AzureBlobKvCheckpointStore : IKvCheckpointStore
{
    private readonly BlobContainerClient _container;

    public AzureBlobKvCheckpointStore(IOptions<AzureBlobKvCheckpointStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Value.ConnectionString, "options.ConnectionString");
        _container = new BlobContainerClient(options.Value.ConnectionString, options.Value.Container);
    }

    public string ContainerName => _container.Name;

    private string Where => $"blob container '{_container.Name}'";

    public async Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken)
    {
        var reference = CheckpointBlobs.Describe(sessionKey, stepIndex, checkpoint);
        var blob = _container.GetBlobClient(reference.BlobName);
        var upload = new BlobUploadOptions
        {
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        };
        var content = BinaryData.FromBytes(checkpoint);
        try
        {
            await blob.UploadAsync(content, upload, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await blob.UploadAsync(content, upload, cancellationToken).ConfigureAwait(false);
        }

        return reference;
    }

    public async Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken)
    {
        var name = CheckpointBlobs.NewName(sessionKey, stepIndex);
        var blob = _container.GetBlobClient(name);
        var open = new BlobOpenWriteOptions
        {
            // The SDK first creates an empty blob under these conditions, then commits the staged blocks against its ETag.
            OpenConditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        };
        Stream sink;
        try
        {
            sink = await blob.OpenWriteAsync(overwrite: true, open, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            sink = await blob.OpenWriteAsync(overwrite: true, open, cancellationToken).ConfigureAwait(false);
        }

        await using (sink.ConfigureAwait(false))
        {
            var reference = await CheckpointBlobs.StreamAsync(sink, name, stepIndex, modelFingerprint, writePayload, cancellationToken).ConfigureAwait(false);
            await sink.FlushAsync(cancellationToken).ConfigureAwait(false); // commits the block list
            return reference;
        }
    }

    public async Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken)
    {
        CheckpointBlobs.CheckName(reference);
        var blob = _container.GetBlobClient(reference.BlobName);
        BinaryData content;
        try
        {
            content = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw CheckpointBlobs.Missing(reference, Where, e);
        }

        return CheckpointBlobs.Verify(reference, content.ToArray(), Where);
    }

    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken) =>
        DeleteWhereAsync(sessionKey, _ => true, cancellationToken);

    public Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var kept = keep.Select(k => k.BlobName).ToHashSet(StringComparer.Ordinal);
        return DeleteWhereAsync(sessionKey, name => !kept.Contains(name), cancellationToken);
    }

    private async Task DeleteWhereAsync(string sessionKey, Func<string, bool> delete, CancellationToken cancellationToken)
    {
        var prefix = CheckpointBlobs.SessionPrefix(sessionKey);
        try
        {
            await foreach (var item in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            {
                if (delete(item.Name))
                {
                    await _container.DeleteBlobIfExistsAsync(item.Name, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // No container: no checkpoints to delete.
        }
    }
}
