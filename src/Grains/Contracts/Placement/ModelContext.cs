namespace StarKv.Grains.Placement;

/// <summary>The request-context key under which a caller names the model a new session runs on (read by placement).</summary>
public static class ModelContext
{
    public const string Key = "starkv.model";
}
