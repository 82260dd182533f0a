using StarKv.Compression.Api;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// A uniformly random kept set per KV head plus the window: the floor any method must beat. The draw is seeded by
/// (<see cref="Seed"/>, layer, turn), so the same session replays the same choices.
/// </summary>
public sealed class RandomCompressor(int windowSize = 8, int seed = 0) : ScoredKvCompressor("random", windowSize)
{
    public int Seed { get; } = seed;

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        var mixed = unchecked((Seed * 1_000_003) + (input.LayerIndex * 7_919) + (input.State.Turns * 104_729));
        var random = new Random(mixed);
        var scores = new float[shape.Groups * shape.Past];
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = (float)random.NextDouble();
        }

        return torch.tensor(scores, [shape.Groups, shape.Past]); // [G, P]
    }
}
