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

    LayerSelection Compress(LayerCompressionInput input);
}
