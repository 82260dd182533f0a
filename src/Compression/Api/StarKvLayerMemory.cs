namespace StarKv.Compression.Api;

/// <summary>
/// What STaR-KV remembers of one layer between turns: the online spatial mutual-information average per KV
/// group (<c>M_g</c>), the attention-map EMA over the current screenshot's grid per group (<c>E_g</c>) with the
/// grid and screenshot it was taken on, the layer's last normalised entropy <c>Ĥ_l</c> and temperature, and how many
/// times the layer has compressed (the ramp's t).
/// </summary>
public sealed class StarKvLayerMemory
{
    internal StarKvLayerMemory(int groups)
    {
        Groups = groups;
    }

    /// <summary>KV groups (heads) of the layer; fixed for the session.</summary>
    public int Groups { get; }

    /// <summary>
    /// The compressing calls of this layer in the session, the current one included: the t of method.md's ramp. A call
    /// that finds the cache within the layer's budget (a no-op) does not count.
    /// </summary>
    public int CompressionCalls { get; internal set; }

    /// <summary>The online MI average <c>M_g</c> in nats, one per group; null before the first observation.</summary>
    public double[]? MutualInformation { get; internal set; }

    /// <summary>
    /// The EMA <c>E_g</c> of each group's normalised attention over the screenshot's tokens in cache order;
    /// null before the first screenshot. // [G][V]
    /// </summary>
    public double[][]? StabilityEma { get; internal set; }

    /// <summary>The merged grid the EMA was taken on; a different grid resets it.</summary>
    public int EmaGridRows { get; internal set; }

    public int EmaGridCols { get; internal set; }

    /// <summary>The screenshot last folded into the EMA; the EMA moves only when a new screenshot arrives.</summary>
    public int EmaScreenshotIndex { get; internal set; } = -1;

    /// <summary>The layer's normalised entropy <c>Ĥ_l</c> at its last compression; NaN before the first.</summary>
    public double NormalisedEntropy { get; internal set; } = double.NaN;

    /// <summary>The temperature <c>T</c> the layer used at its last compression; NaN before the first.</summary>
    public double Temperature { get; internal set; } = double.NaN;
}
