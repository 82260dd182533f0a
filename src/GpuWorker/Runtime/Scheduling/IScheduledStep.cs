using StarKv.GpuWorker.Model.Batching;
using TorchSharp;

namespace StarKv.GpuWorker.Runtime.Scheduling;

/// <summary>
/// One session's step as the <see cref="StepScheduler"/> drives it, on the scheduler's thread under the runtime's
/// execution gate: <see cref="BeginPrefill"/> once, then one <see cref="NextChunk"/> and <see cref="EndChunk"/> per
/// iteration until its prefill is over, then one <see cref="NextRow"/> and <see cref="Accept"/> per batched decode until
/// it reports the step decoded. The session owns everything else (checks before, commit or rollback after).
/// </summary>
internal interface IScheduledStep
{
    /// <summary>Tokens the whole prefill runs (the turn).</summary>
    int PrefillTokens { get; }

    /// <summary>Tokens of the prefill not run yet.</summary>
    int PrefillLeft { get; }

    /// <summary>Cancels this step only: it leaves the batch at the next iteration and its session rolls back.</summary>
    CancellationToken CancellationToken { get; }

    /// <summary>What the prefill needs before its first chunk: the screenshot's vision encoding, the turn's embeddings.</summary>
    void BeginPrefill();

    /// <summary>The next at most <paramref name="maxTokens"/> tokens of the prefill, for this iteration's forward pass.</summary>
    PrefillChunk NextChunk(int maxTokens);

    /// <summary>
    /// After the forward pass that ran the chunk: its last token's logits and the pass's milliseconds. Throws what the
    /// chunk's per-layer work threw (a compressor, a cancelled token). // logits: [vocab]
    /// </summary>
    StepProgress EndChunk(torch.Tensor logits, double passMilliseconds);

    /// <summary>The token this step decodes in the next batch.</summary>
    DecodeRow NextRow { get; }

    /// <summary>Takes the logits of this step's row; false when decoding is over. // logits: [vocab]</summary>
    bool Accept(torch.Tensor logits);
}

/// <summary>Where a scheduled step stands after an iteration.</summary>
internal enum StepProgress
{
    /// <summary>Its prefill has tokens left.</summary>
    Prefilling,

    /// <summary>Its prefill is over and it decodes from the next iteration on.</summary>
    Decoding,

    /// <summary>Its reply is complete.</summary>
    Done,
}
