using StarKv.Compression.Api;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// SnapKV: window scores (<see cref="WindowAttention"/>) pooled along the tokens per query head, averaged over
/// each KV group's query heads, top-k per KV head, plus the window.
/// </summary>
public sealed class SnapKvCompressor(int windowSize = SnapKvCompressor.DefaultWindow) : ScoredKvCompressor("snapkv", windowSize)
{
    /// <summary>SnapKV's observation window.</summary>
    public const int DefaultWindow = 32;

    public PoolingKind Pooling { get; init; } = PoolingKind.Average;

    /// <summary>SnapKV's pooling kernel.</summary>
    public int PoolingKernel { get; init; } = 5;

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep) =>
        PooledGroupScores(input, shape, Pooling, PoolingKernel);

    /// <summary>Pooled window scores averaged per KV group. // [G, P]</summary>
    internal static torch.Tensor PooledGroupScores(LayerCompressionInput input, LayerShape shape, PoolingKind pooling, int kernel)
    {
        using var scope = torch.NewDisposeScope();
        var perHead = WindowAttention.Scores(input.WindowQueries, input.Keys, shape); // [H, P]
        var pooled = ScorePooling.Pool(perHead, pooling, kernel); // [H, P]
        return WindowAttention.GroupMean(pooled, shape.Groups).contiguous().MoveToOuterDisposeScope(); // [G, P]
    }
}
