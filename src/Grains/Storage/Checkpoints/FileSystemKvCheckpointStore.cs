using Microsoft.Extensions.Options;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// Checkpoints as files, <c>{RootPath}/kv/{session}/{step:D12}-{id}.kvc</c>, each written (or streamed) to a temporary
/// file, flushed to disk and renamed into place, so a reader sees a whole checkpoint or none.
/// </summary>
public sealed class FileSystemKvCheckpointStore : IKvCheckpointStore
{
    private readonly string _root;

    public FileSystemKvCheckpointStore(IOptions<FileSystemKvCheckpointStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Value.RootPath, "options.RootPath");
        _root = Path.GetFullPath(options.Value.RootPath);
    }

    public string RootPath => _root;

    public async Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken)
    {
        var reference = CheckpointBlobs.Describe(sessionKey, stepIndex, checkpoint);
        var path = PathOf(reference.BlobName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(checkpoint, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path);
        }
        finally
        {
            File.Delete(temporary);
        }

        return reference;
    }

    public async Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken)
    {
        var name = CheckpointBlobs.NewName(sessionKey, stepIndex);
        var path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        CheckpointReference reference;
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                reference = await CheckpointBlobs.StreamAsync(stream, name, stepIndex, modelFingerprint, writePayload, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path);
        }
        finally
        {
            File.Delete(temporary);
        }

        return reference;
    }

    public async Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken)
    {
        CheckpointBlobs.CheckName(reference);
        var path = PathOf(reference.BlobName);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw CheckpointBlobs.Missing(reference, $"folder '{_root}'", e);
        }

        return CheckpointBlobs.Verify(reference, bytes, $"file '{path}'");
    }

    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var folder = PathOf(CheckpointBlobs.SessionPrefix(sessionKey).TrimEnd('/'));
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        return Task.CompletedTask;
    }

    public Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        cancellationToken.ThrowIfCancellationRequested();
        var folder = PathOf(CheckpointBlobs.SessionPrefix(sessionKey).TrimEnd('/'));
        if (!Directory.Exists(folder))
        {
            return Task.CompletedTask;
        }

        var kept = keep.Select(k => PathOf(k.BlobName)).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*" + CheckpointBlobs.Extension))
        {
            if (!kept.Contains(file))
            {
                File.Delete(file);
            }
        }

        return Task.CompletedTask;
    }

    private string PathOf(string blobName) => Path.Combine(_root, blobName.Replace('/', Path.DirectorySeparatorChar));
}
