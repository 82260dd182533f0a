using StarKv.Grains.Sessions;

namespace StarKv.Grains.Tests;

public sealed class SessionKeyTests
{
    [Fact]
    public void Round_trips_through_its_grain_key()
    {
        var key = new SessionKey("tenant-a", "session_1");

        Assert.Equal("tenant-a/session_1", key.ToString());
        Assert.Equal(key, SessionKey.Parse(key.ToString()));
    }

    [Theory]
    [InlineData("no-slash")]
    [InlineData("/session")]
    [InlineData("tenant/")]
    [InlineData("tenant/a/b")]
    [InlineData("ten ant/session")]
    public void Refuses_malformed_keys(string grainKey)
    {
        var error = Record.Exception(() => SessionKey.Parse(grainKey));

        Assert.True(error is FormatException or ArgumentException, $"unexpected {error?.GetType().Name}");
        Assert.False(string.IsNullOrWhiteSpace(error!.Message));
    }

    [Fact]
    public void Same_session_id_in_two_tenants_is_two_keys()
    {
        Assert.NotEqual(new SessionKey("a", "s"), new SessionKey("b", "s"));
    }
}
