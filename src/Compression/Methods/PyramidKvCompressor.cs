using StarKv.Compression.Api;
using StarKv.Compression.Budgets;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>SnapKV's scores with PyramidKV's linearly decreasing per-layer budgets (<see cref="PyramidBudget"/>).</summary>
public sealed class PyramidKvCompressor(int windowSize = SnapKvCompressor.DefaultWindow) : ScoredKvCompressor("pyramidkv", windowSize)
{
    public PoolingKind Pooling { get; init; } = PoolingKind.Average;

    public int PoolingKernel { get; init; } = 5;

    /// <summary>PyramidKV's β.</summary>
    public int Beta { get; init; } = PyramidBudget.DefaultBeta;

    protected override long LayerKeep(LayerCompressionInput input, LayerShape shape) =>
        PyramidBudget.LayerKeep(base.LayerKeep(input, shape), shape.Window, input.LayerIndex, input.LayerCount, input.SeenTokens, Beta);

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep) =>
        SnapKvCompressor.PooledGroupScores(input, shape, Pooling, PoolingKernel);
}
