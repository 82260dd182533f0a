namespace StarKv.Compression.Api;

/// <summary>
/// The per-session memory of a compressor (spatial MI averages, stability EMAs, the compression-call counter).
/// Belongs to the session, is part of its checkpoint, and is reset only when a session starts.
/// </summary>
public sealed partial class CompressorState
{
    /// <summary>How many turns this session has compressed (the step counter t of method.md).</summary>
    public int CompressedTurns { get; set; }
}
