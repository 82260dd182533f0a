namespace StarKv.GpuWorker.Tests.Images;

/// <summary>
/// A line-by-line transcription of Hugging Face's qwen2_vl <c>smart_resize</c> in double precision, with Python's
/// <c>round</c> (ties to even), <c>math.floor</c> and <c>math.ceil</c>; the reference the product code is checked against.
/// </summary>
public static class SmartResizeReference
{
    public static (int Height, int Width) Compute(int height, int width, int factor, int minPixels, int maxPixels)
    {
        double h = height, w = width;
        if (Math.Max(h, w) / Math.Min(h, w) > 200)
        {
            throw new ArgumentException("absolute aspect ratio must be smaller than 200");
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
