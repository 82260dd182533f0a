using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// Rescales 8-bit RGB to [0, 1] and normalises each channel, giving the channel-first planes the patcher reads:
/// <c>out[c, y, x] = (float32(v · (1/255)) − float32(mean[c])) / float32(std[c])</c>, the float32 arithmetic of
/// Hugging Face's <c>rescale</c> (computed in float64, stored as float32) followed by its <c>normalize</c>.
/// </summary>
public static class PixelNormalizer
{
    /// <summary>Returns <c>[3, Height, Width]</c> floats.</summary>
    public static float[] Normalize(RgbImage image, ImageProcessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (mean, std) = Validate(config);
        var plane = image.Width * image.Height;
        var output = new float[3 * plane]; // [3, height, width]
        var pixels = image.Pixels;

        // Each byte value maps to one float per channel; a table keeps the exact float32 arithmetic cheap.
        var table = new float[3, 256];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                var rescaled = (float)(v * (1.0 / 255.0));
                table[c, v] = (rescaled - mean[c]) / std[c];
            }
        }

        for (var i = 0; i < plane; i++)
        {
            output[i] = table[0, pixels[i * 3]];
            output[plane + i] = table[1, pixels[(i * 3) + 1]];
            output[(2 * plane) + i] = table[2, pixels[(i * 3) + 2]];
        }

        return output;
    }

    private static (float[] Mean, float[] Std) Validate(ImageProcessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ImageMean.Count != 3 || config.ImageStd.Count != 3)
        {
            throw new ArgumentException(
                $"image_mean and image_std need 3 values (R, G, B), not {config.ImageMean.Count} and {config.ImageStd.Count}.", nameof(config));
        }

        if (config.ImageStd.Any(s => !(s > 0) || !double.IsFinite(s)))
        {
            throw new ArgumentException($"image_std [{string.Join(", ", config.ImageStd)}] must be positive.", nameof(config));
        }

        return (config.ImageMean.Select(m => (float)m).ToArray(), config.ImageStd.Select(s => (float)s).ToArray());
    }
}
