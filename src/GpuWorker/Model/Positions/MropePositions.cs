using StarKv.Compression.Api;
using StarKv.GpuWorker.Images;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Positions;

/// <summary>
/// Qwen2.5-VL's 3-D rotary positions (transformers' <c>get_rope_index</c> for images), continued across turns.
/// A text token at running index p gets (p, p, p). A run of image tokens for a grid of T×(H/m)×(W/m) merged
/// cells starting at s gets t = s (a still image has no temporal offset: images use zero seconds per frame),
/// h = s + row, w = s + col; the token after the image continues at max(previous) + 1 = s + max(H/m, W/m).
/// The first token of a turn starts at the session's next position, so later turns continue the sequence.
/// </summary>
public static class MropePositions
{
    /// <summary>
    /// The positions of one turn. Every run of <paramref name="imageTokenId"/> must hold exactly the merged
    /// token count of the next grid in <paramref name="imageGrids"/>, and every grid must be used.
    /// </summary>
    /// <param name="ids">The turn's token ids, image pads included.</param>
    /// <param name="imageTokenId">The <c>&lt;|image_pad|&gt;</c> id.</param>
    /// <param name="imageGrids">The turn's images in order, as patch grids before the merge.</param>
    /// <param name="mergeSize">The spatial merge size (2).</param>
    /// <param name="start">The session's next position (0 for the first turn).</param>
    public static TurnPositions ForTurn(IReadOnlyList<int> ids, int imageTokenId, IReadOnlyList<GridThw> imageGrids, int mergeSize, long start)
    {
        var (positions, next) = Compute(ids, imageTokenId, imageGrids, mergeSize, start);
        var tensor = torch.tensor(positions, [3, ids.Count], torch.ScalarType.Int64); // [3, T]
        return new TurnPositions(tensor, next);
    }

    /// <summary>One text token at <paramref name="position"/> (t = h = w), as a decode step uses.</summary>
    public static TurnPositions ForText(long position, int count = 1)
    {
        var positions = new long[3 * count];
        for (var d = 0; d < 3; d++)
        {
            for (var i = 0; i < count; i++)
            {
                positions[(d * count) + i] = position + i;
            }
        }

        return new TurnPositions(torch.tensor(positions, [3, count], torch.ScalarType.Int64), position + count); // [3, count]
    }

    /// <summary>
    /// The cache bookkeeping of one turn's tokens: sequence index (<paramref name="firstSequenceIndex"/> + i,
    /// the count of tokens the session prefilled before), modality, and for image tokens the screenshot index
    /// (<paramref name="firstScreenshotIndex"/> for the turn's first image, then +1 per image) and the (row, col)
    /// cell in the merged grid.
    /// </summary>
    public static IReadOnlyList<TokenInfo> Bookkeeping(
        IReadOnlyList<int> ids, int imageTokenId, IReadOnlyList<GridThw> imageGrids, int mergeSize, long firstSequenceIndex, int firstScreenshotIndex)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(imageGrids);
        var tokens = new TokenInfo[ids.Count];
        var image = 0;
        var i = 0;
        while (i < ids.Count)
        {
            if (ids[i] != imageTokenId)
            {
                tokens[i] = TokenInfo.Text(firstSequenceIndex + i);
                i++;
                continue;
            }

            var grid = NextGrid(ids, imageTokenId, imageGrids, mergeSize, image, i);
            int rows = grid.MergedRows(mergeSize), cols = grid.MergedCols(mergeSize);
            for (var f = 0; f < grid.T; f++)
            {
                for (var r = 0; r < rows; r++)
                {
                    for (var c = 0; c < cols; c++)
                    {
                        tokens[i] = TokenInfo.Image(firstSequenceIndex + i, firstScreenshotIndex + image, r, c);
                        i++;
                    }
                }
            }

            image++;
        }

        CheckAllGridsUsed(imageGrids, image);
        return tokens;
    }

    /// <summary>The positions as a flat row-major [3, T] array and the next position.</summary>
    public static (long[] Positions, long NextPosition) Compute(IReadOnlyList<int> ids, int imageTokenId, IReadOnlyList<GridThw> imageGrids, int mergeSize, long start)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(imageGrids);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mergeSize);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        var count = ids.Count;
        var positions = new long[3 * count];
        var next = start;
        var image = 0;
        var i = 0;
        while (i < count)
        {
            if (ids[i] != imageTokenId)
            {
                for (var d = 0; d < 3; d++)
                {
                    positions[(d * count) + i] = next;
                }

                next++;
                i++;
                continue;
            }

            var grid = NextGrid(ids, imageTokenId, imageGrids, mergeSize, image, i);
            int rows = grid.MergedRows(mergeSize), cols = grid.MergedCols(mergeSize);
            var origin = next;
            for (var f = 0; f < grid.T; f++)
            {
                for (var r = 0; r < rows; r++)
                {
                    for (var c = 0; c < cols; c++)
                    {
                        positions[i] = origin; // images: zero seconds per temporal patch
                        positions[count + i] = origin + r;
                        positions[(2 * count) + i] = origin + c;
                        i++;
                    }
                }
            }

            next = origin + Math.Max(rows, cols);
            image++;
        }

        CheckAllGridsUsed(imageGrids, image);
        return (positions, next);
    }

    private static GridThw NextGrid(IReadOnlyList<int> ids, int imageTokenId, IReadOnlyList<GridThw> imageGrids, int mergeSize, int image, int at)
    {
        if (image >= imageGrids.Count)
        {
            throw new ArgumentException($"Image tokens at index {at} have no grid: {imageGrids.Count} image grid(s) given.", nameof(imageGrids));
        }

        var grid = imageGrids[image];
        if (grid.T <= 0 || grid.H <= 0 || grid.W <= 0 || grid.H % mergeSize != 0 || grid.W % mergeSize != 0)
        {
            throw new ArgumentException($"Image grid {image} ({grid}) must be positive with H and W multiples of the merge size {mergeSize}.", nameof(imageGrids));
        }

        var expected = grid.MergedTokenCount(mergeSize);
        var run = 0;
        while (at + run < ids.Count && ids[at + run] == imageTokenId)
        {
            run++;
        }

        if (run < expected || (run > expected && image + 1 >= imageGrids.Count))
        {
            throw new ArgumentException($"Image {image} at token {at} has {run} consecutive image tokens but its grid {grid} needs {expected}.", nameof(ids));
        }

        return grid;
    }

    private static void CheckAllGridsUsed(IReadOnlyList<GridThw> imageGrids, int used)
    {
        if (used != imageGrids.Count)
        {
            throw new ArgumentException($"{imageGrids.Count} image grid(s) given but the tokens hold {used} image(s).", nameof(imageGrids));
        }
    }
}
