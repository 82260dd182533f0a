using StarKv.GpuWorker.Images;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class PatchFlattenerTests
{
    [Theory]
    [InlineData(3, 56, 84, 2, 14, 2)]
    [InlineData(3, 8, 12, 2, 2, 2)]
    [InlineData(2, 6, 9, 3, 3, 1)]
    public void Patch_order_matches_numpy_reshape_and_transpose(int channels, int height, int width, int temporal, int patch, int merge)
    {
        using var scope = torch.NewDisposeScope();
        var values = Enumerable.Range(0, channels * height * width).Select(i => (float)i).ToArray();
        var image = torch.tensor(values, [channels, height, width]); // [c, h, w], each element its own flat index

        var (patches, grid) = PatchFlattener.Flatten(image, temporal, patch, merge);

        Assert.Equal(new GridThw(1, height / patch, width / patch), grid);
        var columns = channels * temporal * patch * patch;
        Assert.Equal([grid.PatchCount, columns], patches.shape);
        var actual = patches.data<float>().ToArray();
        for (var row = 0; row < grid.PatchCount; row++)
        {
            for (var column = 0; column < columns; column++)
            {
                var source = NumpyReference.SourceIndex(row, column, channels, height, width, temporal, patch, merge);
                Assert.Equal(source, (int)actual[(row * columns) + column]);
            }
        }
    }

    [Fact]
    public void Qwen_sizes_give_1176_columns_and_merge_blocks_of_four_rows()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.rand(3, 56, 28); // [c, h, w]

        var (patches, grid) = PatchFlattener.Flatten(image, 2, 14, 2);

        Assert.Equal(new GridThw(1, 4, 2), grid);
        Assert.Equal([8L, 1176L], patches.shape);
        Assert.Equal(2, grid.MergedTokenCount(2));
        // Row 1 is the patch right of row 0 inside the first merge block: pixel (0, 14) of channel 0.
        Assert.Equal(image[0, 0, 14].item<float>(), patches[1, 0].item<float>());
        // Row 2 is the patch below row 0: pixel (14, 0).
        Assert.Equal(image[0, 14, 0].item<float>(), patches[2, 0].item<float>());
        // Row 4 starts the second merge block, 28 rows down.
        Assert.Equal(image[0, 28, 0].item<float>(), patches[4, 0].item<float>());
        // Column 196 is the second temporal frame: a copy of the first.
        Assert.Equal(patches[3, ..196].data<float>().ToArray(), patches[3, 196..392].data<float>().ToArray());
    }

    [Fact]
    public void Refuses_sizes_that_are_not_multiples_of_the_merge_block()
    {
        using var scope = torch.NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => PatchFlattener.Flatten(torch.zeros(3, 42, 56), 2, 14, 2));

        Assert.Contains("multiple of patch size × merge size = 28", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Emulates numpy: the image is repeated to [tp, c, h, w], reshaped to [t, tp, c, gh/m, m, p, gw/m, m, p],
    /// transposed by (0, 3, 6, 4, 7, 2, 1, 5, 8) and flattened; this maps an output element back to its source.
    /// </summary>
    private static class NumpyReference
    {
        private static readonly int[] Transpose = [0, 3, 6, 4, 7, 2, 1, 5, 8];

        public static int SourceIndex(int row, int column, int channels, int height, int width, int temporal, int patch, int merge)
        {
            int[] shape = [1, temporal, channels, height / patch / merge, merge, patch, width / patch / merge, merge, patch];
            var permutedShape = Transpose.Select(axis => shape[axis]).ToArray();
            var columns = channels * temporal * patch * patch;
            var flat = ((long)row * columns) + column;

            // Unravel the flat index over the permuted shape, then put each coordinate back on its original axis.
            var original = new int[9];
            for (var axis = 8; axis >= 0; axis--)
            {
                original[Transpose[axis]] = (int)(flat % permutedShape[axis]);
                flat /= permutedShape[axis];
            }

            // Ravel over the original 9-D shape: an index into the repeated [tp, c, h, w] array.
            long repeated = 0;
            for (var axis = 0; axis < 9; axis++)
            {
                repeated = (repeated * shape[axis]) + original[axis];
            }

            // Every frame is the same image: drop the frame.
            return (int)(repeated % (channels * height * width));
        }
    }
}
