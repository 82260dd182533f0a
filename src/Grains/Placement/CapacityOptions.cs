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

    /// <summary>
    /// Tokens a new session is expected to see over its life: placement counts a session with a ratio budget as holding
    /// that fraction of them (times the model's KV bytes per token) until it holds more, so a silo that holds no KV yet
    /// does not look empty. About two UI-TARS steps on a 1080p screenshot by default.
    /// </summary>
    [Range(1, int.MaxValue, ErrorMessage = "StarKv:Capacity:ExpectedSessionTokens must be a positive number of tokens.")]
    public int ExpectedSessionTokens { get; set; } = 8192;
}
