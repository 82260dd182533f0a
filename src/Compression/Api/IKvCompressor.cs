namespace StarKv.Compression.Api;

/// <summary>
/// A KV-cache compression method. Called once per layer after a turn's prefill, in layer order, with the
/// layer's retained cache plus the new turn; returns what each KV head keeps.
/// </summary>
public interface IKvCompressor
{
    /// <summary>The method's name as configured (for example "starkv", "snapkv").</summary>
    string Name { get; }

    /// <summary>The observation window W: how many trailing queries the caller passes and that are always kept.</summary>
    int WindowSize { get; }

    /// <summary>
    /// Whether the method scores with the column sums of the prefill's attention
    /// (<see cref="LayerCompressionInput.PrefillColumnSums"/>): a caller that runs the model then asks the prefill to
    /// accumulate them inside its attention instead of the method recomputing that attention.
    /// </summary>
    bool UsesPrefillColumnSums => false;

    LayerSelection Compress(LayerCompressionInput input);
}
