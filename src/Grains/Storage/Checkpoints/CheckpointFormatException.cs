namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// Bytes that <see cref="CheckpointEnvelope"/> refuses: not an envelope, a format version this build does not
/// read, or a checkpoint of another model than the one restoring it.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException()
    {
    }

    public CheckpointFormatException(string message)
        : base(message)
    {
    }

    public CheckpointFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
