using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// Qwen2-VL / Qwen2.5-VL image preprocessing, as Hugging Face's <c>Qwen2VLImageProcessor</c> on Pillow: decode to RGB
/// (alpha dropped by default, <see cref="ImageProcessorConfig.Alpha"/>), smart-resize to multiples of patch × merge
/// within [min_pixels, max_pixels] with Pillow's bicubic (bit-exact), rescale and normalise, then flatten into patches
/// in the encoder's order.
/// </summary>
public static class Qwen2VlImageProcessor
{
    /// <summary>
    /// Preprocesses PNG or JPEG bytes; throws <see cref="ImageDecodeException"/> on undecodable bytes or too many pixels.
    /// An image above <see cref="DecodeLimits.ShrinkAbovePixels"/> (or four times <c>max_pixels</c>, if that is more) is
    /// decoded shrunk before the bicubic resize, so it is not Pillow-exact; everything smaller is.
    /// </summary>
    public static PreprocessedImage Process(ReadOnlySpan<byte> bytes, ImageProcessorConfig config, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        var limits = DecodeLimits.Default with { ShrinkAbovePixels = Math.Max(DecodeLimits.DefaultShrinkAbovePixels, 4L * config.MaxPixels) };
        return Process(ImageDecoder.Decode(bytes, config.Alpha, limits), config, device);
    }

    /// <summary>Preprocesses an already decoded image.</summary>
    public static PreprocessedImage Process(RgbImage image, ImageProcessorConfig config, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        if (config.PatchSize <= 0 || config.MergeSize <= 0 || config.TemporalPatchSize <= 0)
        {
            throw new ArgumentException(
                $"patch_size {config.PatchSize}, merge_size {config.MergeSize} and temporal_patch_size {config.TemporalPatchSize} must be positive.",
                nameof(config));
        }

        var (resizedHeight, resizedWidth) = SmartResize.Compute(
            image.Height, image.Width, config.PatchSize * config.MergeSize, config.MinPixels, config.MaxPixels);
        var resized = BicubicResizer.Resize(image, resizedWidth, resizedHeight);
        var planes = PixelNormalizer.Normalize(resized, config); // [3, resizedHeight, resizedWidth]

        using var scope = torch.NewDisposeScope();
        var pixels = torch.tensor(planes, [3, resizedHeight, resizedWidth]); // [3, h, w]
        var (patches, grid) = PatchFlattener.Flatten(pixels, config.TemporalPatchSize, config.PatchSize, config.MergeSize); // [N, 3·tp·p·p]
        var onDevice = patches.to(device);
        return new PreprocessedImage(onDevice.MoveToOuterDisposeScope(), grid, image.Width, image.Height, resizedWidth, resizedHeight);
    }
}
