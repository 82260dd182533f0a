namespace StarKv.Grains.Checkpoints;

/// <summary>
/// Where the trajectory grain puts each step's KV checkpoint (<c>IAgentSession.Save()</c> bytes); the grain's persistent
/// state keeps only the returned reference. Implementations: <see cref="FileSessionCheckpointBlobs"/> (embedded mode)
/// and an adapter over the Azure Blob checkpoint store.
/// </summary>
public interface ISessionCheckpointBlobs
{
    /// <summary>Stores the checkpoint taken after step <paramref name="stepIndex"/>; returns the reference to read it back.</summary>
    Task<string> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken);

    Task<byte[]> ReadAsync(string reference, CancellationToken cancellationToken);

    /// <summary>Deletes every checkpoint of the session.</summary>
    Task DeleteAsync(string sessionKey, CancellationToken cancellationToken);
}
