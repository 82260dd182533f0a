namespace StarKv.Gateway.Tests;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Health_endpoint_answers_over_loopback()
    {
        await using var app = GatewayApp.Build(["--urls", "http://127.0.0.1:0"]);
        await app.StartAsync(CancellationToken.None);
        var address = app.Urls.Single();

        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var body = await client.GetStringAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal("ok", body);
        await app.StopAsync(CancellationToken.None);
    }
}
