using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StarKv.Telemetry;

namespace StarKv.Grains.Tests.Telemetry;

public sealed class AddStarKvTelemetryTests
{
    private static IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    [Fact]
    public void Nothing_configured_registers_no_providers()
    {
        using var provider = new ServiceCollection().AddStarKvTelemetry(Config()).BuildServiceProvider();

        Assert.Null(provider.GetService<TracerProvider>());
        Assert.Null(provider.GetService<MeterProvider>());
    }

    [Fact]
    public void Otlp_endpoint_turns_on_tracing_of_the_StarKv_source()
    {
        using var provider = new ServiceCollection()
            .AddStarKvTelemetry(Config(("StarKv:Telemetry:OtlpEndpoint", "http://127.0.0.1:4317")))
            .BuildServiceProvider();

        Assert.NotNull(provider.GetService<MeterProvider>());
        Assert.NotNull(provider.GetRequiredService<TracerProvider>());
        using var span = StarKvTelemetry.StartStep(new StepTrace("tenant-a", "otlp-check", 0));
        Assert.NotNull(span);
        Assert.True(span.IsAllDataRequested);
    }

    [Theory]
    [InlineData("StarKv:Telemetry:OtlpEndpoint", "collector:4317", "OtlpEndpoint")]
    [InlineData("StarKv:Telemetry:OtlpEndpoint", "ftp://collector:4317", "OtlpEndpoint")]
    [InlineData("StarKv:Telemetry:Console", "yes", "Console")]
    public void Bad_values_name_the_key(string key, string value, string named)
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddStarKvTelemetry(Config((key, value))));

        Assert.Contains($"StarKv:Telemetry:{named}", error.Message, StringComparison.Ordinal);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }
}
