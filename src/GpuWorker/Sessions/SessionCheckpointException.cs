namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// A saved session that this runtime cannot restore: another model (fingerprint), another checkpoint format version,
/// or bytes that are not a session checkpoint, truncated or damaged. The message names what was expected and found.
/// </summary>
public sealed class SessionCheckpointException : Exception
{
    public SessionCheckpointException()
    {
    }

    public SessionCheckpointException(string message)
        : base(message)
    {
    }

    public SessionCheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
