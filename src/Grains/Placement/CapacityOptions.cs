using System.ComponentModel.DataAnnotations;

namespace StarKv.Grains.Placement;

/// <summary><c>StarKv:Capacity</c>: the silo's KV memory budget and the fraction of it above which it sheds idle sessions.</summary>
public sealed class CapacityOptions
{
    public const string Section = "StarKv:Capacity";

    /// <summary>Bytes of KV cache (all sessions together) this silo may hold.</summary>
    [Range(1, long.MaxValue, ErrorMessage = "StarKv:Capacity:KvBudgetBytes must be a positive number of bytes.")]
    public long KvBudgetBytes { get; set; } = 4L << 30;

    /// <summary>In (0, 1]: above this fraction of the budget the silo takes no new sessions and moves its largest idle ones.</summary>
    [Range(0.01, 1.0, ErrorMessage = "StarKv:Capacity:HighWatermark must be in (0, 1].")]
    public double HighWatermark { get; set; } = 0.9;
}
