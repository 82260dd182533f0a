using StarKv.Compression.Api;
using StarKv.Compression.Methods;
using StarKv.Compression.StarKv;
using StarKv.Compression.Tests.Support;

namespace StarKv.Compression.Tests;

/// <summary>STaR-KV's parts on constructed cases with hand-computed values, and its two modes.</summary>
public sealed class StarKvTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void With_every_part_off_it_keeps_the_best_head_mean_window_scores_plus_the_spatial_boost(bool pooled)
    {
        var compressor = new StarKvCompressor(6)
        {
            UseSpatialPrior = false,
            UseTemporalDiscount = false,
            UseEntropyTemperature = false,
            Pooling = pooled ? Scoring.PoolingKind.Average : Scoring.PoolingKind.None,
        };
        for (var seed = 0; seed < 20; seed++)
        {
            var c = CaseGenerator.Create(500 + seed, 6, 0.3);
            var s = Reference.SnapGroupScores(c, pooled);
            Reference.AddSaliency(s, c);
            var headMean = Enumerable.Range(0, c.Past).Select(j => s.Average(row => row[j])).ToArray();
            var expected = Reference.Select([headMean], c.Length, Reference.Keep(c), c.Window, c.Groups);

            using var selection = compressor.Compress(c.ToInput(new CompressorState()));
            Assert.Equal(expected, LayerCase.Rows(selection));
        }
    }

    [Fact]
    public void Spatial_mutual_information_of_a_one_row_screenshot_equals_the_hand_computed_value()
    {
        // 1 × 24 grid, score = column. Score bins a = floor(rank·16/24): 0,0,1,2,2,3,4,4,5,6,6,7,… (8 bins of two
        // tokens, 8 of one). Spatial bins y = floor(col·12/24): the pairs (0,1), (2,3), …, 12 bins of two tokens.
        // H(a) = (2/3)·ln 12 + (1/3)·ln 24; 4 of the 12 pairs share a score bin, 8 split: H(a|y) = (2/3)·ln 2.
        // MI = H(a) − H(a|y) = (2/3)·ln 6 + (1/3)·ln 24 = ln(864)/3.
        var grid = new ScreenshotGrid(0, 1, 24);
        var cols = Enumerable.Range(0, 24).ToArray();
        var mi = SpatialMutualInformation.Compute(cols.Select(c => (double)c).ToArray(), new int[24], cols, grid);
        Assert.Equal(Math.Log(864) / 3, mi, 12);
    }

    [Fact]
    public void Spatial_bins_take_the_cell_centre()
    {
        // floor((c + 0.5)·12/16) for c = 0..15; the corner, floor(c·12/16), would give 0,0,1,2,3,3,4,5,6,6,7,8,9,9,10,11.
        Assert.Equal([0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11], Enumerable.Range(0, 16).Select(c => SpatialMutualInformation.CentreBin(c, 16)));
        // A single row or column sits in the middle bin; a 5-row grid spreads over bins 1, 3, 6, 8, 10.
        Assert.Equal(6, SpatialMutualInformation.CentreBin(0, 1));
        Assert.Equal([1, 3, 6, 8, 10], Enumerable.Range(0, 5).Select(r => SpatialMutualInformation.CentreBin(r, 5)));
    }

    [Fact]
    public void Spatial_mutual_information_with_centre_bins_equals_the_hand_computed_value()
    {
        // 1 × 16 grid, 8 score bins of two ranks each. By centre the columns bin as {0} {1,2} {3} {4} {5,6} {7} {8}
        // {9,10} {11} {12} {13,14} {15}; the scores put {0,3} {1,2} {4,7} {5,6} {8,11} {9,10} {12,15} {13,14} in one
        // score bin each, so every spatial bin lies in one score bin: MI = H(a) = ln 8. By the corner the columns bin as
        // {0,1} {2} {3} {4,5} …, and four of those pairs split across two score bins: H(a|y) = 4·(2/16)·ln 2, so the
        // corner would give 2.5·ln 2.
        int[] order = [0, 3, 1, 2, 4, 7, 5, 6, 8, 11, 9, 10, 12, 15, 13, 14];
        var scores = new double[16];
        for (var rank = 0; rank < 16; rank++)
        {
            scores[order[rank]] = rank;
        }

        var mi = SpatialMutualInformation.Compute(scores, new int[16], Enumerable.Range(0, 16).ToArray(), new ScreenshotGrid(0, 1, 16), scoreBins: 8);

        Assert.Equal(3 * Math.Log(2), mi, 12);
        Assert.Equal(mi, StarKvReference.MutualInformation(scores, Enumerable.Range(0, 16).Select(c => TokenInfo.Image(c, 0, 0, c)).ToArray(), new ScreenshotGrid(0, 1, 16), scoreBins: 8), 12);
    }

    [Fact]
    public void The_ramp_counts_compressing_calls_only()
    {
        // Two turns fit a 100 % budget (no-ops), the next two compress. With N = 1 and R = 1 the first compressing call
        // has t = 1, λ_eff = 0, so it keeps exactly what the prior-free compressor keeps; counting the no-op turns would
        // have made it t = 3, λ_eff = 0.5.
        var compressor = new StarKvCompressor(4) { PriorDelayTurns = 1, PriorRampTurns = 1 };
        var priorFree = new StarKvCompressor(4) { UseSpatialPrior = false };
        var session = new StarKvSession(seed: 11, layers: 1, window: 4, ratio: 1.0);
        var (state, freeState) = (new CompressorState(), new CompressorState());
        for (var turn = 0; turn < 4; turn++)
        {
            var c = session.NextTurn()[0];
            var budget = turn < 2 ? KvBudget.FromRatio(1.0) : KvBudget.FromTokens(c.Length / 2);
            using var selection = compressor.Compress(c.ToInput(state) with { Budget = budget });
            using var free = priorFree.Compress(c.ToInput(freeState) with { Budget = budget });
            Assert.Equal(turn < 2, selection.IsNoOp);
            if (turn == 2)
            {
                Assert.Equal(1, state.GetLayer(0)!.CompressionCalls);
                Assert.Equal(LayerCase.Rows(free), LayerCase.Rows(selection));
            }

            session.Gather(0, LayerCase.Rows(selection)[0]);
        }

        Assert.Equal(4, state.Turns);
        Assert.Equal(2, state.GetLayer(0)!.CompressionCalls);
        Assert.Equal(0.5, SpatialMutualInformation.RampedWeight(state.GetLayer(0)!.CompressionCalls, 0.5, 1, 1));
    }

    [Fact]
    public void Spatial_mutual_information_is_zero_for_constant_scores_or_a_single_token()
    {
        var grid = new ScreenshotGrid(0, 2, 2);
        Assert.Equal(0, SpatialMutualInformation.Compute([1, 1, 1, 1], [0, 0, 1, 1], [0, 1, 0, 1], grid));
        Assert.Equal(0, SpatialMutualInformation.Compute([1], [0], [0], grid));
    }

    [Fact]
    public void A_two_to_one_wide_screenshot_is_binned_on_its_real_grid_not_a_square_guess()
    {
        // 12 × 24 merged grid (2:1). Scores are equal within each horizontal pair of cells and distinct between
        // pairs; on the real grid a 12 × 12 spatial bin is exactly one pair, and each score bin holds 9 whole
        // pairs, so the cell determines the score bin: MI = H(a) = ln 16.
        var grid = new ScreenshotGrid(0, 12, 24);
        var rows = new List<int>();
        var cols = new List<int>();
        var scores = new List<double>();
        for (var r = 0; r < 12; r++)
        {
            for (var c = 0; c < 24; c++)
            {
                rows.Add(r);
                cols.Add(c);
                scores.Add((r * 12) + (c / 2));
            }
        }

        var real = SpatialMutualInformation.Compute(scores, rows, cols, grid);
        Assert.Equal(Math.Log(16), real, 12);

        // A square guess for 288 tokens (17 × 17, row-major) puts tokens of different pairs into the same bin.
        var side = (int)Math.Ceiling(Math.Sqrt(288));
        var square = new ScreenshotGrid(0, side, side);
        var guessed = SpatialMutualInformation.Compute(
            scores, Enumerable.Range(0, 288).Select(k => k / side).ToArray(), Enumerable.Range(0, 288).Select(k => k % side).ToArray(), square);
        Assert.True(guessed < real - 0.05, $"square guess MI {guessed} should fall below the real grid's {real}");

        // Through the compressor: the cells come from the bookkeeping, so the same wide screenshot gives a different
        // MI average than the same tokens labelled with square-guess cells.
        Assert.NotEqual(MiThroughCompressor(grid, (r, c) => (r, c)), MiThroughCompressor(grid, (r, c) => (((r * 24) + c) / 17, ((r * 24) + c) % 17), square));
    }

    [Fact]
    public void Temporal_discount_of_three_screenshots_equals_the_hand_computed_value()
    {
        // One group over a 2 × 2 grid. A1 = (.4,.3,.2,.1), A2 = (.1,.2,.3,.4), A3 = (.25,.25,.25,.25).
        // E1 = A1; E2 = .9·E1 + .1·A2 = (.37,.29,.21,.13); E3 = .9·E2 + .1·A3 = (.358,.286,.214,.142).
        // cos(A3, E3) = .25·(.358+.286+.214+.142) / (.5·‖E3‖) = .25 / (.5·√.27592).
        // A token of screenshot 0 seen at screenshot 2 (Δ = 2): D = exp(−.1·2·stab); of screenshot 1: exp(−.1·stab).
        var e1 = TemporalStability.UpdateEma(null, TemporalStability.Normalise([4, 3, 2, 1])!);
        var e2 = TemporalStability.UpdateEma(e1, TemporalStability.Normalise([1, 2, 3, 4])!);
        var a3 = TemporalStability.Normalise([5, 5, 5, 5])!;
        var e3 = TemporalStability.UpdateEma(e2, a3);
        Assert.Equal([0.358, 0.286, 0.214, 0.142], e3.Select(v => Math.Round(v, 12)));

        var stability = TemporalStability.Stability(a3, e3);
        var handStability = 0.25 / (0.5 * Math.Sqrt(0.27592));
        Assert.Equal(handStability, stability, 12);
        Assert.Equal(Math.Exp(-0.2 * handStability), TemporalStability.Discount(2, stability), 12);
        Assert.Equal(Math.Exp(-0.1 * handStability), TemporalStability.Discount(1, stability), 12);
        Assert.Equal(0.826652, TemporalStability.Discount(2, stability), 5);
        Assert.Equal(1.0, TemporalStability.Discount(0, stability));
    }

    [Fact]
    public void The_compressor_keeps_the_stability_ema_of_three_screenshots_as_method_md_defines()
    {
        var compressor = new StarKvCompressor(4) { UseSpatialPrior = false, UseEntropyTemperature = false };
        var session = new StarKvSession(seed: 42, layers: 1, window: 4, ratio: 1.0);
        var state = new CompressorState();
        var attention = new List<double[][]>();
        for (var turn = 0; turn < 3; turn++)
        {
            var c = session.NextTurn()[0];
            var s = Reference.SnapGroupScores(c);
            Reference.AddSaliency(s, c);
            var v = Enumerable.Range(0, c.Past).Where(j => c.Tokens[j].ScreenshotIndex == c.Grid!.Value.ScreenshotIndex).ToArray();
            attention.Add(s.Select(row => v.Select(j => row[j] / v.Sum(i => row[i])).ToArray()).ToArray());

            // A 100% budget keeps everything; use an absolute budget so the layer is scored.
            var input = c.ToInput(state) with { Budget = KvBudget.FromTokens(c.Length - 1) };
            using var selection = compressor.Compress(input);
            session.Gather(0, LayerCase.Rows(selection)[0]);
        }

        var memory = state.GetLayer(0)!;
        for (var g = 0; g < 2; g++)
        {
            // The session may change grid between turns (a new grid resets the EMA), so rebuild it the same way.
            double[]? ema = null;
            for (var t = 0; t < 3; t++)
            {
                ema = ema is null || ema.Length != attention[t][g].Length ? attention[t][g] : ema.Select((e, i) => (0.9 * e) + (0.1 * attention[t][g][i])).ToArray();
            }

            Assert.Equal(ema!.Length, memory.StabilityEma![g].Length);
            for (var i = 0; i < ema.Length; i++)
            {
                Assert.Equal(ema[i], memory.StabilityEma[g][i], 5);
            }
        }
    }

    [Fact]
    public void Faithful_selection_never_differs_from_the_temperature_free_selection()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var faithful = new StarKvCompressor(4, StarKvMode.Faithful) { PriorDelayTurns = 1, PriorRampTurns = 2 };
            var free = new StarKvCompressor(4, StarKvMode.Faithful) { UseEntropyTemperature = false, PriorDelayTurns = 1, PriorRampTurns = 2 };
            var session = new StarKvSession(seed, layers: 2, window: 4, ratio: 0.35);
            var (faithfulState, freeState) = (new CompressorState(), new CompressorState());
            for (var turn = 0; turn < 3; turn++)
            {
                foreach (var c in session.NextTurn())
                {
                    using var a = faithful.Compress(c.ToInput(faithfulState));
                    using var b = free.Compress(c.ToInput(freeState));
                    Assert.False(a.IsNoOp);
                    Assert.Equal(LayerCase.Rows(b), LayerCase.Rows(a));
                    session.Gather(c.LayerIndex, LayerCase.Rows(a)[0]);
                }
            }
        }
    }

    [Fact]
    public void Adaptive_selection_differs_from_faithful_on_a_constructed_case()
    {
        // W = 1, D = 1, one query head per group, q = 1: S_g[j] = softmax(k_g)[j] over the five keys. Group 0 is
        // peaked, group 1 flat. Head-mean scores of the four past entries: (.228, .266, .243, .163), so Faithful
        // keeps entry 1. Adaptive tempers each group by its own entropy (peaked group sharpened, flat group
        // flattened) before mixing: (.266, .264, .281, .190), so it keeps entry 2.
        float[][] keys = [[0.9f, -1.8f, 0.6f, -0.5f, 0f], [0.4f, 2.7f, 1.7f, 1.9f, 0f]];
        var c = new LayerCase
        {
            WindowQueries = [[[1f]], [[1f]]],
            Keys = keys.Select(g => g.Select(k => new[] { k }).ToArray()).ToArray(),
            Hidden = [],
            Tokens = Enumerable.Range(0, 5).Select(i => TokenInfo.Text(i)).ToArray(),
            SeenTokens = 5,
            Budget = KvBudget.FromTokens(2),
        };

        long[] Kept(StarKvMode mode, bool temperature)
        {
            var compressor = new StarKvCompressor(1, mode) { Pooling = Scoring.PoolingKind.None, UseEntropyTemperature = temperature };
            using var selection = compressor.Compress(c.ToInput(new CompressorState()));
            return LayerCase.Rows(selection)[0];
        }

        Assert.Equal([1L, 4L], Kept(StarKvMode.Faithful, true));
        Assert.Equal([1L, 4L], Kept(StarKvMode.Adaptive, false));
        Assert.Equal([2L, 4L], Kept(StarKvMode.Adaptive, true));
    }

    [Fact]
    public void Entropy_temperature_maps_flat_attention_to_the_maximum_and_a_spike_to_the_minimum()
    {
        Assert.Equal(1.0, EntropyTemperature.NormalisedEntropy([1, 1, 1, 1]), 12);
        Assert.Equal(0.0, EntropyTemperature.NormalisedEntropy([0, 5, 0, 0]), 12);
        Assert.Equal(1.25, EntropyTemperature.Temperature(1.0), 12);
        Assert.Equal(0.75, EntropyTemperature.Temperature(0.0), 12);

        // p = (.5, .25, .25): H = 1.5·ln 2, Ĥ = 1.5·ln 2 / ln 3.
        Assert.Equal(1.5 * Math.Log(2) / Math.Log(3), EntropyTemperature.NormalisedEntropy([2, 1, 1]), 12);
    }

    [Fact]
    public void Group_weights_follow_the_minmax_softmax_and_the_ramp_waits_then_grows()
    {
        var w = SpatialMutualInformation.GroupWeights([0.2, 0.6, 1.0]);
        var e = new[] { Math.Exp(0), Math.Exp(0.5), Math.Exp(1) };
        Assert.Equal(e.Select(x => x / e.Sum()), w.Select(x => Math.Round(x, 12)).Select(x => x), new ToleranceComparer(1e-12));
        Assert.All(SpatialMutualInformation.GroupWeights([0.3, 0.3]), x => Assert.Equal(0.5, x, 12));
        Assert.Equal(0, SpatialMutualInformation.RampedWeight(5));
        Assert.Equal(0.05, SpatialMutualInformation.RampedWeight(6), 12);
        Assert.Equal(0.5, SpatialMutualInformation.RampedWeight(15), 12);
        Assert.Equal(0.5, SpatialMutualInformation.RampedWeight(40), 12);
    }

    private static double MiThroughCompressor(ScreenshotGrid grid, Func<int, int, (int Row, int Col)> cell, ScreenshotGrid? labelledGrid = null)
    {
        // Keys make every group's attention over the screenshot follow the column pair, as in the static case.
        var tokens = new List<TokenInfo>();
        var keys = new List<float[]>();
        for (var r = 0; r < grid.Rows; r++)
        {
            for (var c = 0; c < grid.Cols; c++)
            {
                var (row, col) = cell(r, c);
                tokens.Add(TokenInfo.Image(tokens.Count, 0, row, col));
                keys.Add([((r * 12) + (c / 2)) / 144f]);
            }
        }

        for (var i = 0; i < 2; i++)
        {
            tokens.Add(TokenInfo.Text(tokens.Count));
            keys.Add([0f]);
        }

        var c2 = new LayerCase
        {
            WindowQueries = [[[1f], [1f]]],
            Keys = [keys.ToArray()],
            Hidden = [],
            Tokens = tokens.ToArray(),
            Grid = labelledGrid ?? grid,
            SeenTokens = tokens.Count,
            Budget = KvBudget.FromTokens(tokens.Count / 2),
        };
        var state = new CompressorState();
        using var selection = new StarKvCompressor(2) { Pooling = Scoring.PoolingKind.None }.Compress(c2.ToInput(state));
        return state.GetLayer(0)!.MutualInformation![0];
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
