using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Layers;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>
/// Qwen2.5-VL's vision transformer (transformers' <c>Qwen2_5_VisionTransformerPretrainedModel</c>) for one
/// image: the Conv3d patch embedding as a matmul on the flattened patches, the rows regrouped by merged cell
/// into window order, the blocks (window attention, full attention at <c>fullatt_block_indexes</c>, whole frames
/// as segments), the patch merger, and the merged tokens put back into raster order by the reverse index.
/// </summary>
public sealed class VisionEncoder : IDisposable
{
    private readonly torch.Tensor _patchEmbed; // [vh, C·Tp·P·P]
    private readonly VisionBlock[] _blocks;
    private readonly HashSet<int> _fullAttention;

    public VisionEncoder(VisionConfig config, torch.Tensor patchEmbed, IReadOnlyList<VisionBlock> blocks, PatchMerger merger)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _patchEmbed = patchEmbed;
        _blocks = [.. blocks];
        Merger = merger;
        _fullAttention = [.. config.FullAttentionBlockIndexes];
    }

    public VisionConfig Config { get; }

    public IReadOnlyList<VisionBlock> Blocks => _blocks;

    public PatchMerger Merger { get; }

    /// <summary>Length of one flattened patch: <c>C · T_p · P · P</c> (3·2·14·14 = 1176).</summary>
    public int PatchLength => Config.InChannels * Config.TemporalPatchSize * Config.PatchSize * Config.PatchSize;

    public static VisionEncoder Load(WeightReader weights, VisionConfig config)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        var blocks = new List<VisionBlock>();
        try
        {
            long[] convShape = [config.HiddenSize, config.InChannels, config.TemporalPatchSize, config.PatchSize, config.PatchSize];
            var embed = weights.TakeReshaped("visual.patch_embed.proj.weight", convShape, config.HiddenSize, convShape[1] * convShape[2] * convShape[3] * convShape[4]); // [vh, 1176]
            for (var i = 0; i < config.Depth; i++)
            {
                blocks.Add(VisionBlock.Load(weights, i, config));
            }

            return new VisionEncoder(config, embed, blocks, PatchMerger.Load(weights, config));
        }
        catch
        {
            foreach (var block in blocks)
            {
                block.Dispose();
            }

            throw;
        }
    }

    /// <param name="patches">The processor's flattened patches in merge-unit order. // [N, 1176]</param>
    /// <param name="grid">The image's patch grid; N = T·H·W.</param>
    /// <returns>Merged image tokens in raster order. // [N / m², out_hidden]</returns>
    public torch.Tensor Encode(torch.Tensor patches, GridThw grid)
    {
        ArgumentNullException.ThrowIfNull(patches);
        var m = Config.SpatialMergeSize;
        if (grid.T <= 0 || grid.H <= 0 || grid.W <= 0 || grid.H % m != 0 || grid.W % m != 0)
        {
            throw new ArgumentException($"Image grid {grid} must be positive with H and W multiples of {m}.", nameof(grid));
        }

        if (patches.dim() != 2 || patches.shape[0] != grid.PatchCount || patches.shape[1] != PatchLength)
        {
            throw new ArgumentException($"Patches must be [{grid.PatchCount}, {PatchLength}] for grid {grid}; got [{string.Join(", ", patches.shape)}].", nameof(patches));
        }

        using var scope = torch.NewDisposeScope();
        var device = _patchEmbed.device;
        long n = grid.PatchCount, unit = m * m;
        var x = torch.nn.functional.linear(patches.to(_patchEmbed.dtype, device), _patchEmbed); // [N, vh]

        var windows = VisionWindows.Compute(grid, Config.WindowSize, Config.PatchSize, m);
        var windowIndex = torch.tensor(windows.WindowIndex, device: device); // [N/m²]
        x = x.view(n / unit, unit, -1).index_select(0, windowIndex).reshape(n, -1); // [N, vh] in window order
        var angles = VisionRotary.Angles(grid, Config.HeadDim, m, device); // [N, hd/2]
        angles = angles.view(n / unit, unit, -1).index_select(0, windowIndex).reshape(n, -1); // [N, hd/2]
        var emb = torch.cat([angles, angles], 1); // [N, hd]
        var cos = emb.cos();
        var sin = emb.sin();

        var frames = new long[grid.T + 1];
        for (var t = 1; t <= grid.T; t++)
        {
            frames[t] = frames[t - 1] + ((long)grid.H * grid.W);
        }

        for (var i = 0; i < _blocks.Length; i++)
        {
            x = _blocks[i].Forward(x, cos, sin, _fullAttention.Contains(i) ? frames : windows.CuWindowSeqlens); // [N, vh]
        }

        var merged = Merger.Forward(x); // [N/m², out] in window order
        var reverse = torch.tensor(windows.ReverseIndex(), device: device);
        return merged.index_select(0, reverse).MoveToOuterDisposeScope(); // [N/m², out] in raster order
    }

    public void Dispose()
    {
        _patchEmbed.Dispose();
        foreach (var block in _blocks)
        {
            block.Dispose();
        }

        Merger.Dispose();
    }
}
