namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// A session's state captured between two steps for a checkpoint (<see cref="IAgentSession.CaptureCheckpoint"/>):
/// the whole session, or what its last step changed. Taking it is cheap (the cache's entries are referenced, not
/// copied, and later steps never rewrite them); <see cref="WriteTo"/> serialises it, on any thread, while the session
/// takes further steps. Dispose it once written.
/// </summary>
public interface ISessionCheckpoint : IDisposable
{
    /// <summary>
    /// True when the checkpoint holds what the step <see cref="StepsTaken"/> − 1 changed, to be applied on the session as
    /// it was after step <see cref="StepsTaken"/> − 2; false when it holds the whole session (a chain starts with one).
    /// </summary>
    bool IsDelta { get; }

    /// <summary>The steps the session had taken when the checkpoint was captured.</summary>
    int StepsTaken { get; }

    /// <summary>Serialises the checkpoint into <paramref name="destination"/> as it goes (nothing is buffered whole).</summary>
    void WriteTo(Stream destination, CancellationToken cancellationToken);
}
