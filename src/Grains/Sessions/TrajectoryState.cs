using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Sessions;

/// <summary>
/// The small state of a trajectory, persisted after every step: configuration, progress, the latest results (for
/// idempotent retries) and the session's checkpoint chain: a full checkpoint (<see cref="CheckpointReference"/>) and
/// the deltas written after it, one per step (<see cref="CheckpointDeltas"/>); restoring reads the full one and applies
/// the deltas in order, which gives the state after step <see cref="StepsTaken"/> − 1.
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

    /// <summary>The full checkpoint the chain starts from (null before the first step).</summary>
    [Id(4)] public CheckpointReference? CheckpointReference { get; set; }
    [Id(5)] public string? ModelFingerprint { get; set; }
    [Id(6)] public long KvBytes { get; set; }
    [Id(7)] public long FullKvBytes { get; set; }
    [Id(8)] public long SeenTokens { get; set; }

    /// <summary>What each step after <see cref="CheckpointReference"/>'s changed, in step order, the last one of step <see cref="StepsTaken"/> − 1.</summary>
    [Id(9)] public List<CheckpointReference> CheckpointDeltas { get; set; } = [];

    /// <summary>
    /// The chain a restore reads: the full checkpoint, then the deltas (empty before the first step). A method, not a
    /// property, so that no grain storage serializer stores it.
    /// </summary>
    public List<CheckpointReference> CheckpointChain() => CheckpointReference is { } full ? [full, .. CheckpointDeltas] : [];
}
