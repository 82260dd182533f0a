namespace StarKv.Compression.StarKv;

/// <summary>Where STaR-KV's entropy temperature acts.</summary>
public enum StarKvMode
{
    /// <summary>
    /// The temperature sharpens or flattens each KV group's distribution before the groups are mixed, and splits
    /// the budget across layers (see <see cref="EntropyTemperature"/> and <see cref="Budgets.EntropyLayerBudget"/>).
    /// </summary>
    Adaptive = 0,

    /// <summary>
    /// The published form: <c>max(m′, 0)^(1/T)</c> with one scalar T, then one top-k. A monotone map before top-k,
    /// so it selects exactly what the temperature-free score selects; kept for comparison.
    /// </summary>
    Faithful = 1,
}
