namespace StarKv.StepCost.Bench;

/// <summary>One step of one run, in milliseconds and bytes.</summary>
/// <param name="Step">From 1.</param>
/// <param name="WallMs">The step as its caller waits for it: the session's step and the checkpoint on its path.</param>
/// <param name="PreprocessMs">Screenshot decode, resize, normalisation.</param>
/// <param name="VisionMs">The vision encoder.</param>
/// <param name="PrefillMs">The turn's prefill (compression excluded).</param>
/// <param name="CompressMs">Compression of every layer.</param>
/// <param name="DecodeMs">Greedy decoding.</param>
/// <param name="CheckpointMs">The checkpoint on the step's path (what the answer waits for).</param>
/// <param name="BackgroundCheckpointMs">A full checkpoint written off the step's path after this step (0 when none).</param>
/// <param name="OtherMs">The rest of the wall time.</param>
/// <param name="CheckpointBytes">Bytes the step's checkpoint wrote on its path.</param>
/// <param name="KvBytes">KV storage the session holds after the step.</param>
/// <param name="SeenTokens">Tokens the session has seen.</param>
/// <param name="TokensDecoded">Tokens the step decoded.</param>
/// <param name="ResidentBytes">Resident memory after the step.</param>
/// <param name="PeakResidentBytes">Peak resident memory so far.</param>
public sealed record StepRow(
    int Step,
    double WallMs,
    double PreprocessMs,
    double VisionMs,
    double PrefillMs,
    double CompressMs,
    double DecodeMs,
    double CheckpointMs,
    double BackgroundCheckpointMs,
    double OtherMs,
    long CheckpointBytes,
    long KvBytes,
    long SeenTokens,
    int TokensDecoded,
    long ResidentBytes,
    long PeakResidentBytes);

/// <summary>One run: a code version and a budget over every step, in its own process.</summary>
/// <param name="Code">"before" (the code this issue started from) or "after".</param>
/// <param name="Commit">The commit the run's code was built from.</param>
/// <param name="Budget">The KV budget ratio.</param>
/// <param name="LoadedResidentBytes">Resident memory with the model loaded, before the first step.</param>
/// <param name="Steps">Every step.</param>
public sealed record RunResult(string Code, string Commit, double Budget, long LoadedResidentBytes, IReadOnlyList<StepRow> Steps)
{
    public long PeakResidentBytes => Steps.Max(s => s.PeakResidentBytes);

    public long PeakAboveModelBytes => PeakResidentBytes - LoadedResidentBytes;

    /// <summary>The last step's wall time over the first's.</summary>
    public double LastOverFirst => Steps[^1].WallMs / Steps[0].WallMs;

    /// <summary>The last step's wall time over the second's (the first carries the system and task prompt and the warm-up).</summary>
    public double LastOverSecond => Steps[^1].WallMs / Steps[Math.Min(1, Steps.Count - 1)].WallMs;

    /// <summary>How far the peak rose after the first step: the part of the peak that grows with the cache.</summary>
    public long PeakGrowthBytes => PeakResidentBytes - Steps[0].PeakResidentBytes;

    /// <summary>The checkpoint's share of the steps' wall time, all steps together.</summary>
    public double CheckpointShare => Steps.Sum(s => s.CheckpointMs) / Steps.Sum(s => s.WallMs);

    /// <summary>The largest share of one step's wall time its checkpoint took.</summary>
    public double WorstCheckpointShare => Steps.Max(s => s.CheckpointMs / s.WallMs);
}
