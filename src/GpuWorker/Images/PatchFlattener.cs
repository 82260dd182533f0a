using TorchSharp;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// Cuts a normalised image into the flattened patches Qwen2-VL's vision encoder embeds, in Hugging Face's order.
/// The still image is repeated to <c>temporalPatchSize</c> frames, viewed as
/// <c>[t, tp, c, gh/m, m, ph, gw/m, m, pw]</c> and permuted to <c>[t, gh/m, gw/m, m, m, c, tp, ph, pw]</c>
/// (Qwen2VLImageProcessor <c>_preprocess</c>), so rows run over merge blocks, then the m×m patches inside a block,
/// and each row holds channel, frame, patch row, patch column.
/// </summary>
/// <remarks>
/// Row <c>((bh·(gw/m) + bw)·m + mh)·m + mw</c>, column <c>((c·tp + f)·p + py)·p + px</c> holds pixel
/// <c>image[c, (bh·m + mh)·p + py, (bw·m + mw)·p + px]</c> for every frame f.
/// </remarks>
public static class PatchFlattener
{
    /// <summary>Flattens <c>[channels, height, width]</c> into <c>[grid_t·grid_h·grid_w, channels·tp·p·p]</c>.</summary>
    public static (torch.Tensor Patches, GridThw Grid) Flatten(torch.Tensor image, int temporalPatchSize, int patchSize, int mergeSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temporalPatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mergeSize);
        if (image.dim() != 3)
        {
            throw new ArgumentException($"Expected an image [channels, height, width], got shape [{string.Join(", ", image.shape)}].", nameof(image));
        }

        var channels = image.shape[0];
        var height = image.shape[1];
        var width = image.shape[2];
        var block = patchSize * mergeSize;
        if (height % block != 0 || width % block != 0)
        {
            throw new ArgumentException(
                $"Image {width}×{height} is not a multiple of patch size × merge size = {block} on both sides; smart-resize it first.", nameof(image));
        }

        var gridH = (int)(height / patchSize);
        var gridW = (int)(width / patchSize);
        var grid = new GridThw(1, gridH, gridW);

        using var scope = torch.NewDisposeScope();
        var frames = image.unsqueeze(0).expand(temporalPatchSize, channels, height, width); // [tp, c, h, w]
        var blocks = frames.reshape(1, temporalPatchSize, channels, gridH / mergeSize, mergeSize, patchSize, gridW / mergeSize, mergeSize, patchSize);
        var ordered = blocks.permute(0, 3, 6, 4, 7, 2, 1, 5, 8); // [t, gh/m, gw/m, m, m, c, tp, ph, pw]
        var patches = ordered.reshape(grid.PatchCount, channels * temporalPatchSize * patchSize * patchSize); // [N, c·tp·p·p]
        return (patches.MoveToOuterDisposeScope(), grid);
    }
}
