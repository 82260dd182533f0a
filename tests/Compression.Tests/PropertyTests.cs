using StarKv.Compression.Api;
using StarKv.Compression.Tests.Support;

namespace StarKv.Compression.Tests;

/// <summary>The selection properties every method must have, for every budget.</summary>
public sealed class PropertyTests
{
    public static TheoryData<string, double> MethodsByBudgets()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in CompressorFactory.Names)
        {
            foreach (var budget in new[] { 0.05, 0.1, 0.2, 0.4, 1.0 })
            {
                data.Add(name, budget);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MethodsByBudgets))]
    public void Selection_keeps_the_budget_the_window_and_sorted_unique_indices(string name, double budget)
    {
        var factory = new CompressorFactory();
        var compressor = factory.Create(name, new CompressorOptions { Seed = 3 });
        for (var seed = 0; seed < 4; seed++)
        {
            var c = CaseGenerator.Create(1000 + seed, compressor.WindowSize, budget, dim: 8, screenshots: 3);
            Assert.True(budget == 1.0 || Reference.Keep(c) < c.Length, "the case compresses below 100%");
            using var first = compressor.Compress(c.ToInput(new CompressorState()));
            using var again = factory.Create(name, new CompressorOptions { Seed = 3 }).Compress(c.ToInput(new CompressorState()));
            var rows = LayerCase.Rows(first);

            var keep = name switch
            {
                "full" => c.Length,
                "pyramidkv" => Reference.PyramidKeep(c),
                _ => Reference.Keep(c),
            };
            var expected = Math.Min(c.Length, keep);
            Assert.Equal(expected == c.Length, first.IsNoOp);
            Assert.Equal(c.Groups, rows.Length);
            foreach (var row in rows)
            {
                Assert.Equal(expected, row.Length);
                Assert.True(row.Zip(row.Skip(1)).All(p => p.First < p.Second), "indices sorted and unique");
                Assert.All(row, i => Assert.InRange(i, 0, c.Length - 1));
                for (var w = c.Length - c.Window; w < c.Length; w++)
                {
                    Assert.Contains(w, row);
                }
            }

            if (budget == 1.0)
            {
                Assert.True(first.IsNoOp, "nothing is removed below budget");
                Assert.All(rows, row => Assert.Equal(Enumerable.Range(0, c.Length).Select(i => (long)i), row));
            }

            Assert.Equal(rows, LayerCase.Rows(again));
        }
    }

    public static TheoryData<string, double> CompressingMethodsByBudgets()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in CompressorFactory.Names.Where(n => n != "full"))
        {
            foreach (var budget in new[] { 0.05, 0.2, 0.45, 0.7 })
            {
                data.Add(name, budget);
            }
        }

        return data;
    }

    /// <summary>
    /// Whole sessions in the retained-cache mode, eight layers, ten turns: after every turn the layers' kept entries sum
    /// to at most layers × keep (per KV head), every layer keeps at most its cache, and a layer that compresses keeps
    /// the same count in every head. "full" keeps everything by definition and is left out.
    /// </summary>
    [Theory]
    [MemberData(nameof(CompressingMethodsByBudgets))]
    public void A_whole_session_never_holds_more_than_layers_times_keep(string name, double budget)
    {
        const int window = 4;
        var factory = new CompressorFactory();
        for (var seed = 0; seed < 3; seed++)
        {
            var compressor = factory.Create(name, new CompressorOptions { WindowSize = window, Seed = seed });
            var session = new MultiTurnSession(100 + seed, layers: 8, window);
            var state = new CompressorState();
            var ratio = KvBudget.FromRatio(budget);
            for (var turn = 0; turn < 10; turn++)
            {
                var kept = 0L;
                foreach (var input in session.NextTurn(ratio, state))
                {
                    var length = session.Length(input.LayerIndex);
                    try
                    {
                        using var selection = compressor.Compress(input);
                        var rows = LayerCase.Rows(selection);
                        Assert.All(rows, row => Assert.Equal(rows[0].Length, row.Length));
                        Assert.InRange(rows[0].Length, 1, length);
                        kept += rows[0].Length;
                        session.Gather(input.LayerIndex, rows);
                    }
                    finally
                    {
                        MultiTurnSession.Dispose(input);
                    }
                }

                var keep = Reference.Keep(budget, session.SeenTokens, window);
                Assert.True(
                    kept <= session.Layers * keep,
                    $"{name} at {budget:P0}, seed {seed}, turn {turn}: the layers keep {kept} entries per head, over {session.Layers} × {keep}");
            }
        }
    }

    [Fact]
    public void A_layer_under_the_uniform_keep_but_over_its_pyramid_share_is_compressed_to_its_share()
    {
        // The last of 4 layers with an absolute budget equal to its cache: uniformly nothing to do, but its pyramid share
        // is far below the cache, so it compresses to exactly that share.
        var c = CaseGenerator.Create(7, 6, 0.3, layerCount: 4, layerIndex: 3, screenshots: 2);
        var input = c.ToInput(new CompressorState()) with { Budget = KvBudget.FromTokens(c.Length) };
        var share = Budgets.PyramidBudget.LayerKeep(c.Length, 6, 3, 4, c.SeenTokens);
        Assert.True(share < c.Length, $"share {share} of a {c.Length}-entry cache");

        using var selection = new Methods.PyramidKvCompressor(6).Compress(input);

        Assert.False(selection.IsNoOp);
        Assert.All(LayerCase.Rows(selection), row => Assert.Equal(share, row.Length));
    }

    [Fact]
    public void Adaptive_layer_split_compresses_a_layer_over_its_share_even_under_the_uniform_keep()
    {
        // Previous normalised entropies 0 and 1 split 2 × 100 into [65, 135] (W = 8: weights 1 and e^0.8 share the spare
        // 182 as 56.4 and 125.6). Layer 0's cache of 90 entries is under the uniform 100 but over its 65, so it keeps 65;
        // layer 1's 90 fit its 135. Deciding the no-op against the uniform 100 would keep all 90 in layer 0, and with
        // layer 1 at its full 135 the layers would hold 225 > 2 × 100.
        Assert.Equal([65L, 135L], Budgets.EntropyLayerBudget.Split(100, 8, [0.0, 1.0]));
        var state = StateWithEntropies(0.0, 1.0);
        var compressor = new Methods.StarKvCompressor(8);
        var kept = new List<int>();
        for (var layer = 0; layer < 2; layer++)
        {
            var c = CaseGenerator.Create(40 + layer, 8, 0.3, layerCount: 2, layerIndex: layer, screenshots: 1);
            var padded = Pad(c, 90);
            using var selection = compressor.Compress(padded.ToInput(state) with { Budget = KvBudget.FromTokens(100), SeenTokens = 200 });
            kept.Add(LayerCase.Rows(selection)[0].Length);
        }

        Assert.Equal([65, 90], kept);
    }

    [Theory]
    [InlineData(0.7, 90L, 63L)]
    [InlineData(0.1, 30L, 3L)]
    [InlineData(0.3, 10L, 3L)]
    [InlineData(0.29, 100L, 29L)]
    [InlineData(0.57, 100L, 57L)]
    [InlineData(1.0, 12345L, 12345L)]
    public void Keep_is_the_exact_floor_of_the_written_ratio_times_the_tokens_seen(double ratio, long seen, long expected)
    {
        // In doubles 0.7 × 90 = 62.99…, 0.29 × 100 = 28.99…, 0.57 × 100 = 56.99…: a floating floor loses a token.
        Assert.Equal(expected, KvBudget.FromRatio(ratio).KeepCount(seen, window: 1));
        Assert.Equal(Reference.Keep(ratio, seen, 1), KvBudget.FromRatio(ratio).KeepCount(seen, window: 1));
    }

    [Fact]
    public void Keep_matches_the_decimal_reference_for_many_ratios_and_lengths()
    {
        var random = new Random(5);
        for (var i = 0; i < 2000; i++)
        {
            var ratio = Math.Round(random.NextDouble(), random.Next(1, 6)) is var r && r > 0 ? r : 0.5;
            var seen = random.NextInt64(0, 5_000_000_000);
            Assert.Equal(Reference.Keep(ratio, seen, 8), KvBudget.FromRatio(ratio).KeepCount(seen, 8));
        }
    }

    [Fact]
    public void Pyramid_budgets_never_go_over_the_total_at_tiny_budgets()
    {
        // B = 1..60 past entries over 28 layers: B/β rounds to 0 for B < 20, where giving each layer at least one entry
        // used to push the sum over 28·(W + B).
        for (var past = 1L; past <= 60; past++)
        {
            var layers = Enumerable.Range(0, 28).Select(l => Budgets.PyramidBudget.LayerKeep(32 + past, 32, l, 28, seenTokens: 10_000)).ToArray();
            Assert.True(layers.Sum() <= 28 * (32 + past), $"B = {past}: {layers.Sum()} > {28 * (32 + past)}");
            Assert.All(layers, k => Assert.True(k >= 33, $"B = {past}: a layer keeps {k}"));
            Assert.Equal(layers, Enumerable.Range(0, 28).Select(l => Reference.PyramidKeep(32 + past, 32, l, 28, 10_000)));
        }
    }

    [Fact]
    public void Pyramid_budgets_are_capped_at_what_was_seen_and_keep_everything_at_100_percent()
    {
        // B = 500 of 600 seen past tokens (W = 10): B_max = 2·500 − 25 = 975 > 600, so B_max = 600, B_min = 400.
        var layers = Enumerable.Range(0, 5).Select(l => Budgets.PyramidBudget.LayerKeep(510, 10, l, 5, seenTokens: 610)).ToArray();
        Assert.Equal([610L, 560L, 510L, 460L, 410L], layers);
        Assert.All(Enumerable.Range(0, 5), l => Assert.Equal(610L, Budgets.PyramidBudget.LayerKeep(610, 10, l, 5, seenTokens: 610)));
    }

    [Fact]
    public void Pyramid_budgets_fall_with_depth_and_stay_within_the_uniform_total()
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var layers = Enumerable.Range(0, 28)
                .Select(l => Budgets.PyramidBudget.LayerKeep(1000 + (seed * 337), 32, l, 28, seenTokens: 100_000))
                .ToArray();
            Assert.True(layers.Zip(layers.Skip(1)).All(p => p.First >= p.Second));
            Assert.InRange(layers.Sum(), 28 * (1000 + (seed * 337)) - 28, 28 * (1000 + (seed * 337)));
            Assert.True(layers[0] > 1000 + (seed * 337) && layers[^1] < 1000 + (seed * 337));
        }
    }

    [Fact]
    public void Entropy_layer_split_sums_to_the_total_gives_flatter_layers_more_and_every_layer_its_window()
    {
        var entropies = new[] { 0.2, 0.9, 0.5, 0.0 };
        var keep = Budgets.EntropyLayerBudget.Split(100, 8, entropies);
        Assert.Equal(400, keep.Sum());
        Assert.True(keep[1] > keep[2] && keep[2] > keep[0] && keep[0] > keep[3]);
        Assert.All(keep, k => Assert.True(k >= 9));

        // e_l = exp(Ĥ/T(Ĥ)): 1, e^(0.9/1.2), e^(0.5/1.0), e^(0.2/0.85); the spare 4·(100 − 9) = 364 is split by them.
        double[] weights = [Math.Exp(0.2 / 0.85), Math.Exp(0.9 / 1.2), Math.Exp(0.5 / 1.0), 1.0];
        for (var l = 0; l < 4; l++)
        {
            Assert.InRange(keep[l] - 9, Math.Floor(364 * weights[l] / weights.Sum()), Math.Floor(364 * weights[l] / weights.Sum()) + 1);
        }

        Assert.All(Budgets.EntropyLayerBudget.Split(100, 8, [0.2, double.NaN]), k => Assert.Equal(100, k));
    }

    /// <summary>A state whose layers last compressed with the given normalised entropies (written in the byte format).</summary>
    private static CompressorState StateWithEntropies(params double[] entropies)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write("SKVC"u8);
            writer.Write(CompressorState.FormatVersion);
            writer.Write(1); // turns
            writer.Write(-1); // no plan
            writer.Write(entropies.Length);
            for (var l = 0; l < entropies.Length; l++)
            {
                writer.Write(l);
                writer.Write(2); // groups
                writer.Write(1); // compressing calls
                writer.Write(entropies[l]);
                writer.Write(1.0); // temperature
                writer.Write(false); // no MI
                writer.Write(false); // no EMA
            }
        }

        return CompressorState.FromBytes(stream.ToArray());
    }

    /// <summary>The case with text entries inserted before its screenshots until the cache holds <paramref name="length"/>.</summary>
    private static LayerCase Pad(LayerCase c, int length)
    {
        var extra = length - c.Length;
        var random = new Random(length);
        var tokens = Enumerable.Range(0, extra).Select(i => TokenInfo.Text(i))
            .Concat(c.Tokens.Select(t => t with { Position = t.Position + extra })).ToArray();
        return new LayerCase
        {
            WindowQueries = c.WindowQueries,
            Keys = c.Keys.Select(g => CaseGenerator.Tensor2(random, extra, c.Dim).Concat(g).ToArray()).ToArray(),
            Hidden = c.Hidden,
            Tokens = tokens,
            Grid = c.Grid,
            LayerIndex = c.LayerIndex,
            LayerCount = c.LayerCount,
            SeenTokens = Math.Max(c.SeenTokens, length),
            Budget = c.Budget,
        };
    }
}
