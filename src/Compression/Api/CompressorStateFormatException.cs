namespace StarKv.Compression.Api;

/// <summary>
/// Thrown when bytes given to <see cref="CompressorState.FromBytes"/> are not a compressor state this build can
/// read: another format version, a foreign header, or a truncated or inconsistent payload.
/// </summary>
public sealed class CompressorStateFormatException : FormatException
{
    public CompressorStateFormatException()
    {
    }

    public CompressorStateFormatException(string message)
        : base(message)
    {
    }

    public CompressorStateFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
