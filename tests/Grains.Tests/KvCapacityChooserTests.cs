using StarKv.Grains.Placement;

namespace StarKv.Grains.Tests;

public sealed class KvCapacityChooserTests
{
    private static SiloLoadReport Report(string silo, string model, long budget, long inUse, bool draining = false, int sessions = 1) => new()
    {
        Silo = silo, Device = "cuda:0", ModelId = model, KvBudgetBytes = budget, KvBytesInUse = inUse, Sessions = sessions, HighWatermark = 0.9, Draining = draining,
    };

    [Fact]
    public void Among_equally_free_silos_picks_the_one_with_fewer_sessions()
    {
        // New sessions hold no KV bytes yet: a and b are equally free, b holds fewer sessions.
        var reports = new[] { Report("a", "m", 100, 0, sessions: 3), Report("b", "m", 100, 0, sessions: 1) };

        Assert.Equal("b", KvCapacityChooser.Choose(reports, "m", exclude: null).Silo);
    }

    [Fact]
    public void Picks_the_silo_serving_the_model_with_the_most_free_bytes()
    {
        var reports = new[] { Report("a", "m", 100, 10), Report("b", "m", 200, 150), Report("c", "other", 1000, 0) };

        // a: 90 free, b: 50 free, c: serves another model.
        Assert.Equal("a", KvCapacityChooser.Choose(reports, "m", exclude: null).Silo);
        Assert.Equal("b", KvCapacityChooser.Choose(reports, "m", exclude: ["a"]).Silo);
        Assert.Equal("c", KvCapacityChooser.Choose(reports, "other", exclude: null).Silo);
    }

    [Fact]
    public void Refuses_with_the_reason_when_every_silo_is_full_or_draining()
    {
        // a is at 95% of its budget, above the 90% high watermark; b drains.
        var reports = new[] { Report("a", "m", 100, 95), Report("b", "m", 100, 0, draining: true) };

        var choice = KvCapacityChooser.Choose(reports, "m", exclude: null);

        Assert.Null(choice.Silo);
        Assert.Equal("no silo serving model 'm' has room: a holds 95 of 100 KV bytes (high watermark 90%); b is draining", choice.Reason);
        Assert.Equal("no silo has reported its load yet", KvCapacityChooser.Choose([], "m", null).Reason);
    }
}
