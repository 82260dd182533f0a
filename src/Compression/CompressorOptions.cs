using StarKv.Compression.Scoring;
using StarKv.Compression.StarKv;

namespace StarKv.Compression;

/// <summary>How <see cref="CompressorFactory"/> builds a compressor. Defaults are method.md's.</summary>
public sealed record CompressorOptions
{
    /// <summary>
    /// The observation window W (queries the caller passes, entries always kept). Null: the method's default,
    /// 32 for SnapKV and PyramidKV (their papers), 8 for the others.
    /// </summary>
    public int? WindowSize { get; init; }

    /// <summary>Seed of the random baseline.</summary>
    public int Seed { get; init; }

    /// <summary>STaR-KV's mode for the name "starkv" ("starkv-faithful" is always <see cref="StarKvMode.Faithful"/>).</summary>
    public StarKvMode StarKvMode { get; init; } = StarKvMode.Adaptive;

    /// <summary>STaR-KV part (i), the spatial mutual-information prior.</summary>
    public bool UseSpatialPrior { get; init; } = true;

    /// <summary>STaR-KV part (ii), the temporal stability discount.</summary>
    public bool UseTemporalDiscount { get; init; } = true;

    /// <summary>STaR-KV part (iii), the entropy temperature.</summary>
    public bool UseEntropyTemperature { get; init; } = true;

    /// <summary>Pooling of window scores (SnapKV, PyramidKV, GUI-KV, STaR-KV).</summary>
    public PoolingKind Pooling { get; init; } = PoolingKind.Average;

    /// <summary>Odd pooling kernel (5).</summary>
    public int PoolingKernel { get; init; } = 5;
}
