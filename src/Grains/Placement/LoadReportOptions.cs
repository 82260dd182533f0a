namespace StarKv.Grains.Placement;

/// <summary>How often silos report their load and when a report is too old to place on.</summary>
public sealed class LoadReportOptions
{
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A report older than this is ignored (the silo is presumed gone).</summary>
    public TimeSpan Expiry { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A session with no step for this long counts as idle and may be moved under memory pressure.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a silo shutting down gracefully tries to move its sessions before it lets them deactivate.</summary>
    public TimeSpan ShutdownMoveTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
