namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>A KV checkpoint that is missing, truncated or altered in its store; names the blob.</summary>
public sealed class CheckpointStoreException : Exception
{
    public CheckpointStoreException()
    {
        BlobName = string.Empty;
    }

    public CheckpointStoreException(string message)
        : base(message)
    {
        BlobName = string.Empty;
    }

    public CheckpointStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
        BlobName = string.Empty;
    }

    public CheckpointStoreException(string blobName, string message, Exception? innerException)
        : base(message, innerException)
    {
        BlobName = blobName;
    }

    /// <summary>The checkpoint blob's name in its store.</summary>
    public string BlobName { get; }
}
