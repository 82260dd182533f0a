using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Layers;
using StarKv.GpuWorker.Model.Vision;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

public sealed class VisionTests
{
    [Fact]
    public void Window_index_of_a_two_to_one_grid_reads_four_by_four_cell_windows_row_major()
    {
        // 20×10 patches = 10×5 merged cells; windows of 112/14/2 = 4×4 cells; cell (r, c) = 5r + c.
        var windows = VisionWindows.Compute(new GridThw(1, 20, 10), 112, 14, 2);

        long[] expected =
        [
            0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18, // rows 0-3, cols 0-3
            4, 9, 14, 19,                                           // rows 0-3, col 4
            20, 21, 22, 23, 25, 26, 27, 28, 30, 31, 32, 33, 35, 36, 37, 38,
            24, 29, 34, 39,
            40, 41, 42, 43, 45, 46, 47, 48,                         // rows 8-9, cols 0-3
            44, 49,
        ];
        Assert.Equal(expected, windows.WindowIndex);
        Assert.Equal([0L, 64, 80, 144, 160, 192, 200], windows.CuWindowSeqlens);
        var reverse = windows.ReverseIndex();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), reverse.Select(p => windows.WindowIndex[p]));
    }

    [Fact]
    public void Window_index_matches_a_padded_loop_and_drops_empty_windows()
    {
        foreach (var grid in new[] { new GridThw(1, 8, 8), new GridThw(2, 12, 18), new GridThw(1, 16, 6) })
        {
            var windows = VisionWindows.Compute(grid, 112, 14, 2);
            var (index, cu) = PaddedLoop(grid, 4, 2);
            Assert.Equal(index, windows.WindowIndex);
            Assert.Equal(cu.Distinct(), windows.CuWindowSeqlens);
        }

        Assert.Equal([0L, 64], VisionWindows.Compute(new GridThw(1, 8, 8), 112, 14, 2).CuWindowSeqlens);
    }

    [Fact]
    public void Vision_rotary_angles_follow_each_patch_row_and_column_in_merge_order()
    {
        var grid = new GridThw(2, 4, 6);
        const int HeadDim = 16;
        using var angles = VisionRotary.Angles(grid, HeadDim, 2, torch.CPU); // [N, 8]
        Assert.Equal([48L, 8], angles.shape);
        var actual = Reference.Matrix(angles);
        var n = 0;
        for (var t = 0; t < 2; t++)
        {
            for (var cell = 0; cell < 6; cell++)
            {
                for (var inner = 0; inner < 4; inner++, n++)
                {
                    int row = ((cell / 3) * 2) + (inner / 2), col = ((cell % 3) * 2) + (inner % 2);
                    for (var j = 0; j < 4; j++)
                    {
                        var frequency = Math.Pow(10000, -2.0 * j / 8);
                        Assert.Equal(row * frequency, actual[n][j], 5);
                        Assert.Equal(col * frequency, actual[n][4 + j], 5);
                    }
                }
            }
        }
    }

    [Fact]
    public void Patch_merger_matches_the_double_loop()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var merger = PatchMerger.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), config.Vision);
            using var x = TinyQwen.Random(new Random(9), 1.0, 12, 32); // [N, vh]
            using var y = merger.Forward(x); // [3, 64]
            Assert.Equal([3L, 64], y.shape);
            Assert.True(Reference.MaxAbsDiff(ReferenceVision.Merge(weights, Reference.Matrix(x)), y) < 1e-5);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void Vision_encoder_matches_a_double_loop_in_raster_order_without_reordering()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var encoder = VisionEncoder.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), config.Vision);
            var grid = new GridThw(1, 20, 10);
            using var patches = TinyQwen.Random(new Random(10), 1.0, grid.PatchCount, 1176); // [200, 1176]
            using var output = encoder.Encode(patches, grid); // [50, 64]
            Assert.Equal([50L, 64], output.shape);

            var expected = new ReferenceVision(config, weights).Encode(Reference.Matrix(patches), grid);
            var difference = Reference.MaxAbsDiff(expected, output);
            Assert.True(difference < 1e-4, $"max abs difference {difference}");
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void Vision_encoder_refuses_patches_that_do_not_match_the_grid()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var encoder = VisionEncoder.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), config.Vision);
            using var patches = torch.zeros(16, 1176);
            var error = Assert.Throws<ArgumentException>(() => encoder.Encode(patches, new GridThw(1, 4, 6)));
            Assert.Contains("[24, 1176]", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    /// <summary>transformers' padding formulation: pad the cell grid with −100, cut k×k windows, drop the padding.</summary>
    private static (long[] Index, long[] Cu) PaddedLoop(GridThw grid, int side, int merge)
    {
        int rows = grid.H / merge, cols = grid.W / merge;
        int paddedRows = rows + side - (rows % side), paddedCols = cols + side - (cols % side);
        var index = new List<long>();
        var cu = new List<long> { 0 };
        for (var t = 0; t < grid.T; t++)
        {
            var padded = new long[paddedRows, paddedCols];
            for (var r = 0; r < paddedRows; r++)
            {
                for (var c = 0; c < paddedCols; c++)
                {
                    padded[r, c] = r < rows && c < cols ? (t * rows * cols) + (r * cols) + c : -100;
                }
            }

            for (var wr = 0; wr < paddedRows / side; wr++)
            {
                for (var wc = 0; wc < paddedCols / side; wc++)
                {
                    var count = 0;
                    for (var i = 0; i < side * side; i++)
                    {
                        var value = padded[(wr * side) + (i / side), (wc * side) + (i % side)];
                        if (value != -100)
                        {
                            index.Add(value);
                            count++;
                        }
                    }

                    cu.Add(cu[^1] + (count * merge * merge));
                }
            }
        }

        return ([.. index], [.. cu]);
    }
}

/// <summary>
/// The vision encoder in double precision, computed in the processor's merge-unit order throughout: each
/// patch attends to the patches of its own window (or frame, in full-attention blocks) wherever they lie,
/// so no window reordering is needed.
/// </summary>
internal sealed class ReferenceVision
{
    private readonly StarKv.GpuWorker.Model.VisionConfig _config;
    private readonly Dictionary<string, torch.Tensor> _w;

    public ReferenceVision(StarKv.GpuWorker.Model.Qwen25VlConfig config, Dictionary<string, torch.Tensor> weights)
    {
        _config = config.Vision;
        _w = weights;
    }

    public static double[][] Merge(Dictionary<string, torch.Tensor> w, double[][] x)
    {
        var normed = Reference.RmsNorm(x, Reference.Vector(w["visual.merger.ln_q.weight"]), 1e-6);
        var cells = Enumerable.Range(0, normed.Length / 4).Select(c => normed.Skip(c * 4).Take(4).SelectMany(r => r).ToArray()).ToArray();
        var hidden = Reference.Linear(cells, Reference.Matrix(w["visual.merger.mlp.0.weight"]), Reference.Vector(w["visual.merger.mlp.0.bias"]));
        hidden = hidden.Select(r => r.Select(Reference.Gelu).ToArray()).ToArray();
        return Reference.Linear(hidden, Reference.Matrix(w["visual.merger.mlp.2.weight"]), Reference.Vector(w["visual.merger.mlp.2.bias"]));
    }

    public double[][] Encode(double[][] patches, GridThw grid)
    {
        var c = _config;
        using var conv = _w["visual.patch_embed.proj.weight"].reshape(c.HiddenSize, -1);
        var x = Reference.Linear(patches, Reference.Matrix(conv), null);
        var n = patches.Length;
        int cellsAcross = grid.W / 2, cellsDown = grid.H / 2, side = c.WindowSize / c.PatchSize / 2, hd = c.HeadDim;
        var frame = new int[n];
        var window = new int[n];
        var row = new int[n];
        var col = new int[n];
        for (var p = 0; p < n; p++)
        {
            var cell = p / 4;
            frame[p] = cell / (cellsDown * cellsAcross);
            var inFrame = cell % (cellsDown * cellsAcross);
            int cellRow = inFrame / cellsAcross, cellCol = inFrame % cellsAcross;
            row[p] = (cellRow * 2) + ((p % 4) / 2);
            col[p] = (cellCol * 2) + (p % 2);
            window[p] = (frame[p] * 100000) + ((cellRow / side) * 1000) + (cellCol / side);
        }

        double[] Angles(int p) => Enumerable.Range(0, hd / 4).Select(j => row[p] * Math.Pow(10000, -2.0 * j / (hd / 2)))
            .Concat(Enumerable.Range(0, hd / 4).Select(j => col[p] * Math.Pow(10000, -2.0 * j / (hd / 2)))).ToArray();

        for (var b = 0; b < c.Depth; b++)
        {
            var prefix = $"visual.blocks.{b}";
            var full = c.FullAttentionBlockIndexes.Contains(b);
            var h = Reference.RmsNorm(x, Reference.Vector(_w[$"{prefix}.norm1.weight"]), 1e-6);
            var qkv = Reference.Linear(h, Reference.Matrix(_w[$"{prefix}.attn.qkv.weight"]), Reference.Vector(_w[$"{prefix}.attn.qkv.bias"]));
            var attended = new double[n][];
            for (var p = 0; p < n; p++)
            {
                attended[p] = new double[c.HiddenSize];
                var peers = Enumerable.Range(0, n).Where(o => full ? frame[o] == frame[p] : window[o] == window[p]).ToList();
                for (var head = 0; head < c.NumHeads; head++)
                {
                    double[] Slice(int token, int part) => qkv[token].AsSpan((part * c.HiddenSize) + (head * hd), hd).ToArray();
                    var q = Reference.Rotate(Slice(p, 0), Angles(p));
                    var keys = peers.Select(o => Reference.Rotate(Slice(o, 1), Angles(o))).ToList();
                    var values = peers.Select(o => Slice(o, 2)).ToList();
                    Reference.Attend(q, keys, values).CopyTo(attended[p], head * hd);
                }
            }

            x = Reference.Add(x, Reference.Linear(attended, Reference.Matrix(_w[$"{prefix}.attn.proj.weight"]), Reference.Vector(_w[$"{prefix}.attn.proj.bias"])));
            var m = Reference.RmsNorm(x, Reference.Vector(_w[$"{prefix}.norm2.weight"]), 1e-6);
            x = Reference.Add(x, Reference.SwiGlu(
                m,
                Reference.Matrix(_w[$"{prefix}.mlp.gate_proj.weight"]), Reference.Vector(_w[$"{prefix}.mlp.gate_proj.bias"]),
                Reference.Matrix(_w[$"{prefix}.mlp.up_proj.weight"]), Reference.Vector(_w[$"{prefix}.mlp.up_proj.bias"]),
                Reference.Matrix(_w[$"{prefix}.mlp.down_proj.weight"]), Reference.Vector(_w[$"{prefix}.mlp.down_proj.bias"])));
        }

        return Merge(_w, x);
    }
}
