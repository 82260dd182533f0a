using StarKv.Compression.Api;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// GUI-KV: SnapKV's pooled group scores, plus spatial saliency β on the current screenshot's entries
/// (<see cref="SpatialSaliency"/>), then each history-screenshot entry's score multiplied by its key's relative
/// residual against the current screenshot's key span (<see cref="KeyRedundancy"/>), so the history tokens the
/// current screenshot already explains are dropped first. Per KV head, uniform budget across layers.
/// </summary>
public sealed class GuiKvCompressor(int windowSize = 8) : ScoredKvCompressor("guikv", windowSize)
{
    public PoolingKind Pooling { get; init; } = PoolingKind.Average;

    public int PoolingKernel { get; init; } = 5;

    /// <summary>Saliency weight α (GUI-KV: 2.0).</summary>
    public double SaliencyAlpha { get; init; } = SpatialSaliency.DefaultAlpha;

    /// <summary>Saliency temperature τ_s (GUI-KV: 3.5).</summary>
    public double SaliencyTemperature { get; init; } = SpatialSaliency.DefaultTemperature;

    /// <summary>Rank bound of the current screenshot's key span (GUI-KV: 32).</summary>
    public int RedundancyRank { get; init; } = KeyRedundancy.DefaultRank;

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        using var scope = torch.NewDisposeScope();
        var scores = SnapKvCompressor.PooledGroupScores(input, shape, Pooling, PoolingKernel); // [G, P]
        SpatialSaliency.AddTo(scores, input, SaliencyAlpha, SaliencyTemperature);
        if (input.CurrentScreenshot is { } grid)
        {
            var device = scores.device;
            for (var g = 0; g < shape.Groups; g++)
            {
                var tokens = input.Tokens[g];
                var current = new List<long>();
                var history = new List<long>();
                for (var j = 0; j < shape.Length; j++)
                {
                    var token = tokens[j];
                    if (token.Modality != TokenModality.Image)
                    {
                        continue;
                    }

                    if (token.ScreenshotIndex == grid.ScreenshotIndex)
                    {
                        current.Add(j);
                    }
                    else if (token.ScreenshotIndex < grid.ScreenshotIndex && j < shape.Past)
                    {
                        history.Add(j);
                    }
                }

                if (current.Count == 0 || history.Count == 0)
                {
                    continue;
                }

                var keys = input.Keys[g]; // [L, D]
                var historyIndex = torch.tensor(history.ToArray(), device: device); // [N]
                var residual = KeyRedundancy.RelativeResiduals(
                    keys.index_select(0, torch.tensor(current.ToArray(), device: keys.device)),
                    keys.index_select(0, historyIndex.to(keys.device)),
                    RedundancyRank).to(device); // [N]
                var row = scores[g]; // [P]
                row.index_copy_(0, historyIndex, row.index_select(0, historyIndex).mul(residual));
            }
        }

        return scores.MoveToOuterDisposeScope();
    }
}
