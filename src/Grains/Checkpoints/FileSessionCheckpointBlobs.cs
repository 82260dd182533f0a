using System.Globalization;

namespace StarKv.Grains.Checkpoints;

/// <summary>
/// Checkpoints as files <c>{root}/{tenant}/{session}/{step:D10}.kvckpt</c>, written to a temporary name and renamed, so a
/// reader never sees half a file. After a write it keeps the newest two (the one the persisted state may still name
/// until its own write completes, and the new one).
/// </summary>
public sealed class FileSessionCheckpointBlobs(string root) : ISessionCheckpointBlobs
{
    private const string Extension = ".kvckpt";

    public string Root { get; } = Path.GetFullPath(root);

    public async Task<string> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken)
    {
        var folder = SessionFolder(sessionKey);
        Directory.CreateDirectory(folder);
        var name = stepIndex.ToString("D10", CultureInfo.InvariantCulture) + Extension;
        var path = Path.Combine(folder, name);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temporary, checkpoint.ToArray(), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);

        foreach (var stale in Directory.GetFiles(folder, "*" + Extension).Order(StringComparer.Ordinal).SkipLast(2))
        {
            File.Delete(stale);
        }

        return Path.GetRelativePath(Root, path).Replace('\\', '/');
    }

    public async Task<byte[]> ReadAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        var path = Path.GetFullPath(Path.Combine(Root, reference));
        if (!path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Checkpoint reference '{reference}' points outside the checkpoint folder {Root}.", nameof(reference));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{reference}' is not in {Root}.", path);
        }

        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }

    public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken)
    {
        var folder = SessionFolder(sessionKey);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        return Task.CompletedTask;
    }

    private string SessionFolder(string sessionKey)
    {
        var key = Sessions.SessionKey.Parse(sessionKey);
        return Path.Combine(Root, key.Tenant, key.Session);
    }
}
