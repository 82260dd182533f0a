using StarKv.GpuWorker.Sessions;

namespace StarKv.GpuWorker.Tests.Sessions;

[Collection(TinyRuntimeGroup.Name)]
public sealed class KeptVisionTests(TinyRuntimeFixture fixture)
{
    [Theory]
    [InlineData(SessionMode.RetainedCache)]
    [InlineData(SessionMode.ReprefillHistory)]
    public void The_full_cache_keeps_every_cell_of_every_screenshot_with_every_head(SessionMode mode)
    {
        using var session = fixture.Runtime.CreateSession(new SessionOptions { Method = "full", BudgetRatio = 1, Mode = mode, MaxNewTokens = 2 }, new StarKv.Compression.CompressorFactory().Create("full", new StarKv.Compression.CompressorOptions()));
        Assert.All(session.KeptVisionCells().Layers, Assert.Empty);
        session.Step(TinyRuntimeFixture.Screen(0), "one", CancellationToken.None);
        var outcome = session.Step(TinyRuntimeFixture.Screen(1), "two", CancellationToken.None);
        int rows = outcome.ResizedHeight / 28, cols = outcome.ResizedWidth / 28;
        var kept = session.KeptVisionCells();
        Assert.Equal(fixture.Runtime.Config.Text.NumKeyValueHeads, kept.KvHeads);
        Assert.Equal(fixture.Runtime.Model.LayerCount, kept.Layers.Count);
        Assert.All(kept.Layers, layer =>
        {
            Assert.Equal(2 * rows * cols, layer.Count);
            Assert.All(layer, cell => Assert.Equal(kept.KvHeads, cell.Heads));
            Assert.Equal([0, 1], layer.Select(c => c.ScreenshotIndex).Distinct());
        });
    }
}
