using StarKv.Compression.Api;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// H2O: half the budget to heavy hitters, half to the most recent entries. A heavy hitter has high cumulative
/// attention from this turn's prefill queries normalised by how many queries see it
/// (<see cref="CumulativeAttention"/>), averaged over the KV group's query heads; the recent half is
/// <c>keep − floor(keep/2)</c> entries, never fewer than the window. Without <c>TurnQueries</c> the window
/// queries stand in.
/// </summary>
public sealed class H2OCompressor(int windowSize = 8) : ScoredKvCompressor("h2o", windowSize)
{
    protected override int RecentCount(int keep, int window) => Math.Max(window, keep - (keep / 2));

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        var queries = input.TurnQueries ?? input.WindowQueries;
        using var perHead = CumulativeAttention.Scores(queries, input.Keys); // [H, L]
        using var past = perHead.narrow(1, 0, shape.Past); // [H, P]
        return WindowAttention.GroupMean(past, shape.Groups); // [G, P]
    }
}
