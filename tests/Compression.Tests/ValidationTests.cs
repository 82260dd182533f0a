using StarKv.Compression.Api;
using StarKv.Compression.Tests.Support;
using TorchSharp;

namespace StarKv.Compression.Tests;

/// <summary>Bad input is refused with an exception that names what is wrong.</summary>
public sealed class ValidationTests
{
    private static readonly CompressorFactory Factory = new();

    public static TheoryData<string> Methods => [.. CompressorFactory.Names];

    private static LayerCase Case(int window) => CaseGenerator.Create(9, window, 0.3);

    [Theory]
    [MemberData(nameof(Methods))]
    public void Mismatched_head_dimensions_are_named(string name)
    {
        var compressor = Factory.Create(name, new CompressorOptions { WindowSize = 4 });
        var input = Case(4).ToInput(new CompressorState()) with { Keys = torch.zeros(2, 40, 7) };
        var error = Assert.Throws<ArgumentException>(() => compressor.Compress(input));
        Assert.Contains("Head dimension mismatch", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_window_larger_than_the_cache_is_named(string name)
    {
        var compressor = Factory.Create(name, new CompressorOptions { WindowSize = 4 });
        var c = Case(4);
        var input = c.ToInput(new CompressorState()) with { WindowQueries = torch.zeros(c.Heads, c.Length + 1, c.Dim) };
        Assert.Contains("larger than the cache", Assert.Throws<ArgumentException>(() => compressor.Compress(input)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Bookkeeping_whose_length_differs_from_the_cache_is_named(string name)
    {
        var compressor = Factory.Create(name, new CompressorOptions { WindowSize = 4 });
        var c = Case(4);
        var input = c.ToInput(new CompressorState());
        input = input with { Tokens = input.Tokens.Select(t => (IReadOnlyList<TokenInfo>)t.Take(c.Length - 1).ToArray()).ToArray() };
        var error = Assert.Throws<ArgumentException>(() => compressor.Compress(input));
        Assert.Contains($"has {c.Length - 1} entries but the cache holds L = {c.Length}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Query_heads_that_are_not_a_multiple_of_kv_heads_are_named()
    {
        var c = Case(4);
        var input = c.ToInput(new CompressorState()) with { WindowQueries = torch.zeros(3, 4, c.Dim) };
        var error = Assert.Throws<ArgumentException>(() => Factory.Create("snapkv", new CompressorOptions { WindowSize = 4 }).Compress(input));
        Assert.Contains("multiple of KV heads", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("snapkv")]
    [InlineData("h2o")]
    [InlineData("guikv")]
    [InlineData("starkv")]
    public void NaN_in_scores_is_named(string name)
    {
        var compressor = Factory.Create(name, new CompressorOptions { WindowSize = 4 });
        var c = Case(4);
        var keys = LayerCase.ToTensor(c.Keys);
        keys[0, 3, 0] = torch.tensor(float.NaN);
        var input = c.ToInput(new CompressorState()) with { Keys = keys };
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => compressor.Compress(input)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void A_budget_ratio_outside_zero_to_one_is_refused(double ratio)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => KvBudget.FromRatio(ratio));
        Assert.Contains("(0, 1]", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => KvBudget.FromTokens(0));
    }

    [Fact]
    public void Hidden_states_that_do_not_match_the_screenshot_are_named()
    {
        var c = Case(4);
        var input = c.ToInput(new CompressorState()) with { ScreenshotHiddenStates = torch.zeros(c.Hidden.Length + 1, 16) };
        var error = Assert.Throws<ArgumentException>(() => Factory.Create("guikv", new CompressorOptions { WindowSize = 4 }).Compress(input));
        Assert.Contains("ScreenshotHiddenStates has", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StarKv_names_heads_that_hold_different_entries()
    {
        var c = Case(4);
        var input = c.ToInput(new CompressorState());
        var shifted = c.Tokens.Select(t => t with { Position = t.Position + 1000 }).ToArray();
        input = input with { Tokens = [input.Tokens[0], shifted] };
        var error = Assert.Throws<ArgumentException>(() => Factory.Create("starkv", new CompressorOptions { WindowSize = 4 }).Compress(input));
        Assert.Contains("aligned", error.Message, StringComparison.Ordinal);

        // Per-head methods accept heads that hold different entries.
        using var selection = Factory.Create("snapkv", new CompressorOptions { WindowSize = 4 }).Compress(input);
        Assert.Equal(2, selection.Indices.shape[0]);
    }

    [Fact]
    public void An_unknown_method_name_lists_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => Factory.Create("snap-kv", new CompressorOptions()));
        Assert.Contains("snap-kv", error.Message, StringComparison.Ordinal);
        Assert.All(CompressorFactory.Names, n => Assert.Contains(n, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Names_create_the_named_method_with_its_window()
    {
        foreach (var name in CompressorFactory.Names)
        {
            var compressor = Factory.Create(name.ToUpperInvariant(), new CompressorOptions());
            Assert.Equal(name, compressor.Name);
            Assert.Equal(name is "snapkv" or "pyramidkv" ? 32 : 8, compressor.WindowSize);
        }

        Assert.Equal(16, Factory.Create("h2o", new CompressorOptions { WindowSize = 16 }).WindowSize);
    }

    [Theory]
    [InlineData("snapkv")]
    [InlineData("h2o")]
    [InlineData("starkv")]
    public void Bfloat16_inputs_select_what_their_values_select_in_fp32(string name)
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var input = CaseGenerator.Create(seed, 4, 0.3).ToInput(new CompressorState());
            var bf16 = input with
            {
                Keys = input.Keys.to(torch.bfloat16),
                WindowQueries = input.WindowQueries.to(torch.bfloat16),
                TurnQueries = input.TurnQueries!.to(torch.bfloat16),
            };
            var widened = bf16 with
            {
                Keys = bf16.Keys.to(torch.float32),
                WindowQueries = bf16.WindowQueries.to(torch.float32),
                TurnQueries = bf16.TurnQueries!.to(torch.float32),
                State = new CompressorState(),
            };
            using var low = Factory.Create(name, new CompressorOptions { WindowSize = 4 }).Compress(bf16);
            using var wide = Factory.Create(name, new CompressorOptions { WindowSize = 4 }).Compress(widened);
            Assert.Equal(torch.int64, low.Indices.dtype);
            Assert.Equal(LayerCase.Rows(wide), LayerCase.Rows(low));
        }
    }
}
