using StarKv.Compression.Api;
using StarKv.Compression.Tests.Support;

namespace StarKv.Compression.Tests;

public sealed class CompressorStateTests
{
    [Theory]
    [InlineData("starkv")]
    [InlineData("starkv-faithful")]
    public void A_restored_state_compresses_the_next_turn_exactly_as_the_uninterrupted_session(string name)
    {
        var compressor = new CompressorFactory().Create(name, new CompressorOptions { WindowSize = 4 });
        for (var seed = 0; seed < 5; seed++)
        {
            var session = new StarKvSession(seed, layers: 3, window: 4, ratio: 0.4);
            var state = new CompressorState();
            for (var turn = 0; turn < 3; turn++)
            {
                foreach (var c in session.NextTurn())
                {
                    using var selection = compressor.Compress(c.ToInput(state));
                    session.Gather(c.LayerIndex, LayerCase.Rows(selection)[0]);
                }
            }

            var bytes = state.ToBytes();
            var restored = CompressorState.FromBytes(bytes);
            Assert.Equal(bytes, restored.ToBytes());
            Assert.Equal(3, restored.Turns);
            Assert.Equal(state.GetLayer(1)!.MutualInformation, restored.GetLayer(1)!.MutualInformation);

            foreach (var c in session.NextTurn())
            {
                using var uninterrupted = compressor.Compress(c.ToInput(state));
                using var resumed = compressor.Compress(c.ToInput(restored));
                Assert.False(uninterrupted.IsNoOp);
                Assert.Equal(LayerCase.Rows(uninterrupted), LayerCase.Rows(resumed));
                session.Gather(c.LayerIndex, LayerCase.Rows(uninterrupted)[0]);
            }

            Assert.Equal(state.ToBytes(), restored.ToBytes());
        }
    }

    [Fact]
    public void A_fresh_state_round_trips()
    {
        var restored = CompressorState.FromBytes(new CompressorState { Turns = 7 }.ToBytes());
        Assert.Equal(7, restored.Turns);
        Assert.Empty(restored.LayersWithMemory);
        Assert.Null(restored.LayerEntropyPlan);
    }

    [Fact]
    public void Bytes_of_another_version_are_refused_with_a_clear_error()
    {
        var bytes = new CompressorState().ToBytes();
        BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), CompressorState.FormatVersion + 1);
        var error = Assert.Throws<CompressorStateFormatException>(() => CompressorState.FromBytes(bytes));
        Assert.Contains($"version {CompressorState.FormatVersion + 1}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Foreign_or_truncated_bytes_are_refused_with_a_clear_error()
    {
        Assert.Contains("header", Assert.Throws<CompressorStateFormatException>(() => CompressorState.FromBytes("nope"u8)).Message, StringComparison.Ordinal);

        var session = new StarKvSession(1, layers: 1);
        var state = new CompressorState();
        var c = session.NextTurn()[0];
        using (new CompressorFactory().Create("starkv", new CompressorOptions { WindowSize = 4 }).Compress((c.ToInput(state)) with { Budget = KvBudget.FromTokens(10) }))
        {
        }

        var bytes = state.ToBytes();
        Assert.Contains("truncated", Assert.Throws<CompressorStateFormatException>(() => CompressorState.FromBytes(bytes.AsSpan(0, bytes.Length - 3))).Message, StringComparison.Ordinal);
        Assert.Contains("trailing", Assert.Throws<CompressorStateFormatException>(() => CompressorState.FromBytes([.. bytes, 0])).Message, StringComparison.Ordinal);
    }
}
