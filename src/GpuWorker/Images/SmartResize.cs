namespace StarKv.GpuWorker.Images;

/// <summary>
/// Hugging Face's qwen2_vl <c>smart_resize</c>: the size an image is resized to before patching. Both sides become
/// multiples of <c>factor</c> (patch 14 × merge 2 = 28), the area stays within [<c>minPixels</c>, <c>maxPixels</c>]
/// and the aspect ratio is kept as closely as those allow.
/// </summary>
/// <remarks>
/// <c>h̄ = round(h/f)·f</c>, <c>w̄</c> likewise (round half to even, as Python). If <c>h̄·w̄ &gt; max</c>:
/// <c>β = √(h·w/max)</c>, <c>h̄ = max(f, ⌊h/β/f⌋·f)</c>. If <c>h̄·w̄ &lt; min</c>: <c>β = √(min/(h·w))</c>,
/// <c>h̄ = ⌈h·β/f⌉·f</c>. Aspect ratios above 200 are refused. Computed in double precision, as Python floats.
/// This is transformers' version: qwen-vl-utils also floors the first rounding at f, which differs for sides under
/// f/2 pixels (10×200 gives 28×252 here, 28×196 there).
/// </remarks>
public static class SmartResize
{
    /// <summary>The largest aspect ratio (long side over short side) Hugging Face accepts.</summary>
    public const double MaxAspectRatio = 200;

    public static (int Height, int Width) Compute(int height, int width, int factor = 28, int minPixels = 56 * 56, int maxPixels = 28 * 28 * 1280)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(factor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minPixels);
        if (maxPixels < minPixels)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, $"maxPixels must be at least minPixels ({minPixels}).");
        }

        double h = height, w = width;
        if (Math.Max(h, w) / Math.Min(h, w) > MaxAspectRatio)
        {
            throw new ArgumentException(
                $"The image's aspect ratio {Math.Max(h, w) / Math.Min(h, w):0.#} ({width}×{height}) exceeds {MaxAspectRatio}; it cannot be resized for the vision encoder.");
        }

        var hBar = Math.Round(h / factor, MidpointRounding.ToEven) * factor;
        var wBar = Math.Round(w / factor, MidpointRounding.ToEven) * factor;
        if (hBar * wBar > maxPixels)
        {
            var beta = Math.Sqrt(h * w / maxPixels);
            hBar = Math.Max(factor, Math.Floor(h / beta / factor) * factor);
            wBar = Math.Max(factor, Math.Floor(w / beta / factor) * factor);
        }
        else if (hBar * wBar < minPixels)
        {
            var beta = Math.Sqrt(minPixels / (h * w));
            hBar = Math.Ceiling(h * beta / factor) * factor;
            wBar = Math.Ceiling(w * beta / factor) * factor;
        }

        return ((int)hBar, (int)wBar);
    }
}
