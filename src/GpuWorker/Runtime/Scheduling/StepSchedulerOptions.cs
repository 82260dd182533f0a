namespace StarKv.GpuWorker.Runtime.Scheduling;

/// <summary>
/// How a runtime schedules the steps of its sessions. <see cref="MaxBatchSize"/> 1 is the serial mode: each step runs
/// alone on the caller's thread behind the runtime's execution gate (the behaviour before continuous batching, kept
/// for comparison). Above 1, a <see cref="StepScheduler"/> runs iterations that decode the next token of up to that
/// many steps in one batched forward pass, together with chunks of newly arrived steps' prefills under
/// <see cref="MaxTokensPerIteration"/>.
/// </summary>
public sealed record StepSchedulerOptions
{
    /// <summary>The serial mode: one step at a time.</summary>
    public static StepSchedulerOptions Serial { get; } = new() { MaxBatchSize = 1 };

    /// <summary>Continuous batching with the default limits.</summary>
    public static StepSchedulerOptions Batched { get; } = new();

    /// <summary>Most steps in flight in one iteration (decoding, or admitted to prefill); 1 is the serial mode.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>
    /// Most tokens one iteration's forward pass runs: one per decoding step, then chunks of the prefilling steps' turns
    /// in arrival order. A prefill longer than what is left is split across iterations (its compression runs after its
    /// last chunk); when the decode rows use the whole budget, the oldest prefill still advances by one token, so this
    /// bounds the pass's activations (with the batch size) and how long a prefill delays the others' next token.
    /// </summary>
    public int MaxTokensPerIteration { get; init; } = 2048;

    /// <summary>Whether steps run one at a time on their callers' threads.</summary>
    public bool IsSerial => MaxBatchSize == 1;

    /// <exception cref="ArgumentException">A batch size or token budget below one.</exception>
    public void Validate()
    {
        if (MaxBatchSize < 1)
        {
            throw new ArgumentException($"MaxBatchSize must be at least 1; got {MaxBatchSize}.", nameof(MaxBatchSize));
        }

        if (MaxTokensPerIteration < 1)
        {
            throw new ArgumentException($"MaxTokensPerIteration must be at least 1; got {MaxTokensPerIteration}.", nameof(MaxTokensPerIteration));
        }
    }
}
