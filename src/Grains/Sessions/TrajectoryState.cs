using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Sessions;

/// <summary>
/// The small state of a trajectory, persisted after every step: configuration, progress, the latest results (for
/// idempotent retries) and the reference of the KV checkpoint written after the last step.
/// </summary>
[GenerateSerializer]
public sealed class TrajectoryState
{
    /// <summary>How many recent results are kept for retried step indices.</summary>
    public const int ResultsKept = 8;

    [Id(0)] public SessionConfig? Config { get; set; }
    [Id(1)] public bool Closed { get; set; }

    /// <summary>Steps completed; also the index the next step must carry.</summary>
    [Id(2)] public long StepsTaken { get; set; }
    [Id(3)] public List<StepRecord> RecentResults { get; set; } = [];

    /// <summary>Reference of the checkpoint taken after step <see cref="StepsTaken"/> − 1 (null before the first step).</summary>
    [Id(4)] public CheckpointReference? CheckpointReference { get; set; }
    [Id(5)] public string? ModelFingerprint { get; set; }
    [Id(6)] public long KvBytes { get; set; }
    [Id(7)] public long FullKvBytes { get; set; }
    [Id(8)] public long SeenTokens { get; set; }
}
