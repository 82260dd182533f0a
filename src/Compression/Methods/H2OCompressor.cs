using StarKv.Compression.Api;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// H2O: half the budget to heavy hitters, half to the most recent entries. A heavy hitter has high cumulative
/// attention from this turn's prefill queries normalised by how many queries see it
/// (<see cref="CumulativeAttention"/>), averaged over the KV group's query heads; the recent half is
/// <c>keep − floor(keep/2)</c> entries, never fewer than the window. The scores come from the column sums the model's
/// prefill accumulated inside its own attention when the caller passes them (<see cref="LayerCompressionInput.PrefillColumnSums"/>;
/// a session asks for them because <see cref="UsesPrefillColumnSums"/> is true), otherwise from the turn's queries
/// against the cached keys; without <c>TurnQueries</c> the window queries stand in.
/// </summary>
public sealed class H2OCompressor(int windowSize = 8) : ScoredKvCompressor("h2o", windowSize)
{
    protected override int RecentCount(int keep, int window) => Math.Max(window, keep - (keep / 2));

    public override bool UsesPrefillColumnSums => true;

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        if (input.PrefillColumnSums is { } sums)
        {
            var turn = input.TurnQueries?.shape[1] ?? input.WindowQueries.shape[1];
            using var grouped = CumulativeAttention.FromColumnSums(sums, turn, shape.HeadsPerGroup); // [G, L]
            return grouped.narrow(1, 0, shape.Past).contiguous(); // [G, P]
        }

        var queries = input.TurnQueries ?? input.WindowQueries;
        using var perHead = CumulativeAttention.Scores(queries, input.Keys); // [H, L]
        using var past = perHead.narrow(1, 0, shape.Past); // [H, P]
        return WindowAttention.GroupMean(past, shape.Groups); // [G, P]
    }
}
