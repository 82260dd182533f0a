using StarKv.GpuWorker.Images;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>
/// The window partition of Qwen2.5-VL's vision encoder (transformers' <c>get_window_index</c>). The merged grid
/// of each frame (<c>H/m × W/m</c> cells) is padded with −100 to a multiple of the window side
/// <c>k = window_size / m / patch_size</c> cells, cut into <c>k × k</c> windows in row-major order, and read
/// window by window (cells inside a window row-major), dropping the padding. <see cref="WindowIndex"/> lists the
/// merged cells in that order; <see cref="CuWindowSeqlens"/> holds the windows' cumulative lengths in patches
/// (cells · m²), starting at 0, with empty windows removed (torch's <c>unique_consecutive</c>).
/// </summary>
public sealed record VisionWindows(long[] WindowIndex, long[] CuWindowSeqlens)
{
    public static VisionWindows Compute(GridThw grid, int windowSize, int patchSize, int mergeSize)
    {
        var side = windowSize / mergeSize / patchSize;
        if (side <= 0)
        {
            throw new ArgumentException($"window_size {windowSize} is smaller than one merged cell ({mergeSize * patchSize} pixels).", nameof(windowSize));
        }

        int rows = grid.MergedRows(mergeSize), cols = grid.MergedCols(mergeSize);
        var padRows = side - (rows % side);
        var padCols = side - (cols % side);
        int windowsDown = (rows + padRows) / side, windowsAcross = (cols + padCols) / side;
        var index = new List<long>(grid.MergedTokenCount(mergeSize));
        var cu = new List<long> { 0 };
        var unit = mergeSize * mergeSize;
        for (var t = 0; t < grid.T; t++)
        {
            for (var wr = 0; wr < windowsDown; wr++)
            {
                for (var wc = 0; wc < windowsAcross; wc++)
                {
                    var length = 0;
                    for (var r = wr * side; r < (wr + 1) * side; r++)
                    {
                        for (var c = wc * side; c < (wc + 1) * side; c++)
                        {
                            if (r < rows && c < cols)
                            {
                                index.Add(((long)t * rows * cols) + ((long)r * cols) + c);
                                length++;
                            }
                        }
                    }

                    var end = cu[^1] + ((long)length * unit);
                    if (end != cu[^1])
                    {
                        cu.Add(end);
                    }
                }
            }
        }

        return new VisionWindows([.. index], [.. cu]);
    }

    /// <summary>The inverse permutation: position of merged cell i in window order (argsort of the index).</summary>
    public long[] ReverseIndex()
    {
        var reverse = new long[WindowIndex.Length];
        for (var i = 0; i < WindowIndex.Length; i++)
        {
            reverse[WindowIndex[i]] = i;
        }

        return reverse;
    }
}
