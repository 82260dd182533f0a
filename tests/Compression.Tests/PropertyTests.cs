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
                "pyramidkv" => c.Length <= Reference.Keep(c) ? c.Length : Reference.PyramidKeep(c),
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

    [Fact]
    public void Pyramid_budgets_fall_with_depth_and_stay_within_the_uniform_total()
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var layers = Enumerable.Range(0, 28)
                .Select(l => Budgets.PyramidBudget.LayerKeep(1000 + (seed * 337), 32, l, 28))
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
}
