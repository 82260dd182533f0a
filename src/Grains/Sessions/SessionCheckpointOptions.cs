using System.ComponentModel.DataAnnotations;

namespace StarKv.Grains.Sessions;

/// <summary><c>StarKv:Checkpoints</c>: how a trajectory's checkpoint chain is kept.</summary>
public sealed class SessionCheckpointOptions
{
    public const string Section = "StarKv:Checkpoints";

    /// <summary>
    /// Deltas after which a full checkpoint is written in the background: each step writes only what it changed, and
    /// once the chain holds this many deltas the whole session is written off the step's path, after which the chain
    /// starts from it and the older blobs are deleted. Bounds a restore to one full checkpoint and about this many deltas.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "StarKv:Checkpoints:FullEvery must be between 1 and 100000 steps.")]
    public int FullEvery { get; set; } = 8;
}
