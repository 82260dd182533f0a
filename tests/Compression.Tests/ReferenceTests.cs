using StarKv.Compression.Api;
using StarKv.Compression.Methods;
using StarKv.Compression.StarKv;
using StarKv.Compression.Tests.Support;

namespace StarKv.Compression.Tests;

/// <summary>Each method against its plain double-precision reference on seeded random inputs.</summary>
public sealed class ReferenceTests
{
    private const int Window = 6;
    private const int Seeds = 24;

    public static TheoryData<string> Baselines => ["full", "random", "streamingllm", "h2o", "snapkv", "pyramidkv", "guikv"];

    [Theory]
    [MemberData(nameof(Baselines))]
    public void Baseline_keeps_what_the_double_precision_reference_keeps(string name)
    {
        var compressor = new CompressorFactory().Create(name, new CompressorOptions { WindowSize = Window, Seed = 7 });
        for (var seed = 0; seed < Seeds; seed++)
        {
            var ratio = new[] { 0.2, 0.3, 0.5 }[seed % 3];
            var c = CaseGenerator.Create(seed, Window, ratio);
            var state = new CompressorState();
            using var selection = compressor.Compress(c.ToInput(state));
            var expected = name switch
            {
                "full" => Reference.Select([], c.Length, c.Length, c.Window, c.Groups),
                "random" => RandomReference(c, seed: 7, turn: state.Turns),
                "streamingllm" => Reference.StreamingLlm(c),
                "h2o" => Reference.H2O(c),
                "snapkv" => Reference.SnapKv(c),
                "pyramidkv" => Reference.PyramidKv(c),
                "guikv" => Reference.GuiKv(c),
                _ => throw new ArgumentOutOfRangeException(nameof(name)),
            };
            Assert.True(expected.Length == c.Groups, $"seed {seed}");
            Assert.Equal(expected, LayerCase.Rows(selection));
        }
    }

    [Fact]
    public void GuiKv_with_a_low_rank_key_span_keeps_what_the_reference_keeps()
    {
        var compressor = new GuiKvCompressor(Window) { RedundancyRank = 3 };
        for (var seed = 100; seed < 100 + Seeds; seed++)
        {
            var c = CaseGenerator.Create(seed, Window, 0.3, screenshots: 3);
            using var selection = compressor.Compress(c.ToInput(new CompressorState()));
            Assert.Equal(Reference.GuiKv(c, rank: 3), LayerCase.Rows(selection));
        }
    }

    /// <summary>Both modes with every part on over 20 sessions; each part switched off over fewer.</summary>
    public static TheoryData<StarKvMode, bool, bool, bool, int> StarKvVariants => new()
    {
        { StarKvMode.Adaptive, true, true, true, 20 },
        { StarKvMode.Faithful, true, true, true, 20 },
        { StarKvMode.Adaptive, false, true, true, 5 },
        { StarKvMode.Adaptive, true, false, true, 5 },
        { StarKvMode.Adaptive, true, true, false, 5 },
        { StarKvMode.Faithful, false, false, false, 5 },
    };

    [Theory]
    [MemberData(nameof(StarKvVariants))]
    public void StarKv_session_keeps_what_the_reference_keeps_turn_after_turn(StarKvMode mode, bool prior, bool temporal, bool temperature, int sessions)
    {
        for (var seed = 0; seed < sessions; seed++)
        {
            var compressor = new StarKvCompressor(4, mode)
            {
                UseSpatialPrior = prior,
                UseTemporalDiscount = temporal,
                UseEntropyTemperature = temperature,
                PriorDelayTurns = 1,
                PriorRampTurns = 2,
            };
            var reference = new StarKvReference
            {
                Adaptive = mode == StarKvMode.Adaptive,
                Prior = prior,
                Temporal = temporal,
                Temperature = temperature,
                Delay = 1,
                Ramp = 2,
            };
            var session = new StarKvSession(seed, layers: 2, window: 4, ratio: 0.45);
            var state = new CompressorState();
            for (var turn = 0; turn < 4; turn++)
            {
                foreach (var c in session.NextTurn())
                {
                    using var selection = compressor.Compress(c.ToInput(state));
                    var rows = LayerCase.Rows(selection);
                    var expected = reference.Compress(c);
                    Assert.True(expected.SequenceEqual(rows[0]), $"seed {seed}, turn {turn}, layer {c.LayerIndex}: expected [{string.Join(",", expected)}] got [{string.Join(",", rows[0])}]");
                    Assert.All(rows, row => Assert.Equal(rows[0], row));
                    session.Gather(c.LayerIndex, rows[0]);
                }
            }
        }
    }

    /// <summary>The random baseline's documented draw: seed mixed with layer and turn, uniform scores, top-k.</summary>
    private static long[][] RandomReference(LayerCase c, int seed, int turn)
    {
        var random = new Random(unchecked((seed * 1_000_003) + (c.LayerIndex * 7_919) + (turn * 104_729)));
        var scores = Enumerable.Range(0, c.Groups)
            .Select(_ => Enumerable.Range(0, c.Past).Select(_ => (double)(float)random.NextDouble()).ToArray()).ToArray();
        return Reference.Select(scores, c.Length, Reference.Keep(c), c.Window, c.Groups);
    }
}
