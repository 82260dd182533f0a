namespace StarKv.Compression.Scoring;

/// <summary>How window scores are smoothed along the token order before selection.</summary>
public enum PoolingKind
{
    /// <summary>No smoothing.</summary>
    None = 0,

    /// <summary>1-D average pool, stride 1, zero padding counted in the mean (SnapKV's default).</summary>
    Average = 1,

    /// <summary>1-D max pool, stride 1; padding never wins.</summary>
    Max = 2,
}
