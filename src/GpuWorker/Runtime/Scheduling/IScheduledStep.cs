using StarKv.GpuWorker.Model.Batching;
using TorchSharp;

namespace StarKv.GpuWorker.Runtime.Scheduling;

/// <summary>
/// One session's step as the <see cref="StepScheduler"/> drives it, on the scheduler's thread under the runtime's
/// execution gate: <see cref="Prefill"/> once, then one <see cref="NextRow"/> and <see cref="Accept"/> per batched decode
/// until it reports the step decoded. The session owns everything else (checks before, commit or rollback after).
/// </summary>
internal interface IScheduledStep
{
    /// <summary>Tokens the prefill runs, counted against the iteration's token budget.</summary>
    int PrefillTokens { get; }

    /// <summary>Cancels this step only: it leaves the batch at the next iteration and its session rolls back.</summary>
    CancellationToken CancellationToken { get; }

    /// <summary>Vision, prefill, per-layer compression and the first token; false when decoding is over already.</summary>
    bool Prefill();

    /// <summary>The token this step decodes in the next batch.</summary>
    DecodeRow NextRow { get; }

    /// <summary>Takes the logits of this step's row; false when decoding is over. // logits: [vocab]</summary>
    bool Accept(torch.Tensor logits);
}
