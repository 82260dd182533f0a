namespace StarKv.Telemetry;

/// <summary>Whether a checkpoint was written (dehydrate, after a step) or read (rehydrate, reactivation).</summary>
public enum CheckpointOperation
{
    Save,
    Restore,
}
