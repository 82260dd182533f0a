namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// One agent trajectory on one model: a KV cache that lives between steps, its compressor state, positions
/// and history. Not thread-safe: one step at a time.
/// </summary>
public interface IAgentSession : IDisposable
{
    SessionOptions Options { get; }

    /// <summary>How many steps have completed.</summary>
    int StepsTaken { get; }

    /// <summary>Bytes of keys and values the session holds now.</summary>
    long KvBytes { get; }

    /// <summary>Runs one step on a PNG or JPEG screenshot and an instruction.</summary>
    StepOutcome Step(ReadOnlyMemory<byte> screenshot, string instruction, CancellationToken cancellationToken);

    /// <summary>Everything needed to continue on another device: cache, bookkeeping, compressor state, positions, history (versioned, with the model's fingerprint and a SHA-256 of the bytes).</summary>
    byte[] Save();

    /// <summary>
    /// Captures the session between steps for a checkpoint written later (see <see cref="ISessionCheckpoint"/>): what the
    /// last step changed when <paramref name="full"/> is false and the previous capture was taken right before that step,
    /// otherwise the whole session. A chain of one full checkpoint and the deltas after it restores the session
    /// (<see cref="IModelRuntime.RestoreSession(IReadOnlyList{ReadOnlyMemory{byte}})"/>).
    /// </summary>
    ISessionCheckpoint CaptureCheckpoint(bool full);
}
