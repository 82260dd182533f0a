namespace StarKv.GpuWorker.Images;

/// <summary>
/// How large an image the decoder takes, judged from its header before any pixel memory exists: above
/// <see cref="MaxPixels"/> it is refused; above <see cref="ShrinkAbovePixels"/> it is decoded already shrunk by an integer
/// factor (the model would shrink it anyway, and the full-size pixels would cost width × height × 4 bytes first).
/// </summary>
public sealed record DecodeLimits
{
    /// <summary>8192 × 8192 pixels: the gateway's StarKv:Gateway:MaxImagePixels may not be set higher.</summary>
    public const long DefaultMaxPixels = 1L << 26;

    /// <summary>4096 × 4096 pixels: anything up to 4K screens decodes exactly (Pillow's bytes); larger ones shrink while decoding.</summary>
    public const long DefaultShrinkAbovePixels = 1L << 24;

    public static DecodeLimits Default { get; } = new();

    public long MaxPixels { get; init; } = DefaultMaxPixels;

    public long ShrinkAbovePixels { get; init; } = DefaultShrinkAbovePixels;

    /// <summary>The smallest integer factor that brings width × height to at most <see cref="ShrinkAbovePixels"/> (1: none).</summary>
    public int ShrinkFactor(long width, long height)
    {
        var factor = 1;
        while ((width / factor) * (height / factor) > ShrinkAbovePixels && factor < 64)
        {
            factor++;
        }

        return factor;
    }
}
