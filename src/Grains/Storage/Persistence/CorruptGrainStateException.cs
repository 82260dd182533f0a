namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// Stored grain state that cannot be read back: a blob or file that is not in the stored-state format, fails
/// its checksum, or does not deserialize into the state type. Names the blob or file so an operator can find it.
/// </summary>
public sealed class CorruptGrainStateException : Exception
{
    public CorruptGrainStateException()
    {
        Location = string.Empty;
    }

    public CorruptGrainStateException(string message)
        : base(message)
    {
        Location = string.Empty;
    }

    public CorruptGrainStateException(string message, Exception innerException)
        : base(message, innerException)
    {
        Location = string.Empty;
    }

    public CorruptGrainStateException(string location, string problem, Exception? innerException)
        : base($"The stored grain state at {location} is corrupt: {problem}", innerException)
    {
        Location = location;
    }

    /// <summary>The blob (container/name) or file that holds the corrupt state.</summary>
    public string Location { get; }
}
