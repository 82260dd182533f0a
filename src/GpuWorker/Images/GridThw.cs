namespace StarKv.GpuWorker.Images;

/// <summary>
/// The patch grid of one preprocessed image before the 2×2 merge, as Hugging Face's <c>image_grid_thw</c>:
/// <see cref="T"/> temporal patches (1 for a still image), <see cref="H"/> rows and <see cref="W"/> columns of
/// 14-pixel patches. The language model sees <c>T·(H/m)·(W/m)</c> tokens for merge size m.
/// </summary>
public readonly record struct GridThw(int T, int H, int W)
{
    /// <summary>Patches the vision encoder embeds: <c>T·H·W</c>.</summary>
    public int PatchCount => T * H * W;

    /// <summary>Tokens the language model sees after merging <paramref name="mergeSize"/>² patches into one.</summary>
    public int MergedTokenCount(int mergeSize) => T * (H / mergeSize) * (W / mergeSize);

    /// <summary>Rows of the merged grid.</summary>
    public int MergedRows(int mergeSize) => H / mergeSize;

    /// <summary>Columns of the merged grid.</summary>
    public int MergedCols(int mergeSize) => W / mergeSize;
}
