namespace StarKv.GpuWorker.Sessions;

/// <summary>A loaded model on one device, the factory of its agent sessions.</summary>
public interface IModelRuntime : IDisposable
{
    /// <summary>The model's id as clients name it (for example "ui-tars-1.5-7b" or "tiny").</summary>
    string ModelId { get; }

    /// <summary>The hash of the model's configuration; checkpoints of another fingerprint are refused.</summary>
    string Fingerprint { get; }

    /// <summary>The device the model runs on, for example "cpu" or "cuda:0".</summary>
    string Device { get; }

    /// <summary>KV bytes one token costs in an uncompressed cache (all layers, KV heads only, in the cache dtype).</summary>
    long KvBytesPerToken { get; }

    IAgentSession CreateSession(SessionOptions options);

    /// <summary>Restores a session saved by <see cref="IAgentSession.Save"/>; refuses another model's checkpoint with a clear error.</summary>
    IAgentSession RestoreSession(ReadOnlySpan<byte> checkpoint);

    /// <summary>
    /// Restores a session from a checkpoint chain: one full checkpoint then the deltas after it, in order, each as written
    /// by <see cref="ISessionCheckpoint.WriteTo"/> (their integrity checked by whoever stored them); refuses another model's
    /// checkpoint, or a chain with a gap, with a clear error.
    /// </summary>
    IAgentSession RestoreSession(IReadOnlyList<ReadOnlyMemory<byte>> chain);
}
