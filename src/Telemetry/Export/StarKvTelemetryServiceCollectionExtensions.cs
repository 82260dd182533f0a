using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace StarKv.Telemetry;

/// <summary>Exports the <c>StarKv</c> spans and metrics (and Orleans' own) as <c>StarKv:Telemetry</c> says.</summary>
public static class StarKvTelemetryServiceCollectionExtensions
{
    /// <summary>The Orleans activity sources that carry a step across the gateway → grain call.</summary>
    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>The activity source of ASP.NET Core's hosting (one span per HTTP request).</summary>
    public const string AspNetCoreSource = "Microsoft.AspNetCore";

    /// <summary>As <see cref="AddStarKvTelemetry(IServiceCollection, IConfiguration, string)"/> with service name <c>starkv</c>.</summary>
    public static IServiceCollection AddStarKvTelemetry(this IServiceCollection services, IConfiguration configuration) =>
        services.AddStarKvTelemetry(configuration, "starkv");

    /// <summary>
    /// Registers OpenTelemetry tracing and metrics for the <c>StarKv</c> source and meter when
    /// <c>StarKv:Telemetry:OtlpEndpoint</c> is set (OTLP exporter) or <c>StarKv:Telemetry:Console</c> is true
    /// (console exporter); with neither, registers nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The endpoint is not an absolute http(s) URI, or Console is not a boolean.</exception>
    public static IServiceCollection AddStarKvTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(serviceName);

        var options = Read(configuration.GetSection(TelemetryOptions.Section));
        Uri? otlp = null;
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            if (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out otlp) || (otlp.Scheme != Uri.UriSchemeHttp && otlp.Scheme != Uri.UriSchemeHttps))
            {
                throw new InvalidOperationException($"{TelemetryOptions.Section}:{nameof(TelemetryOptions.OtlpEndpoint)} must be an absolute http(s) URI; it is '{options.OtlpEndpoint}'.");
            }
        }

        if (otlp is null && !options.Console)
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                // ASP.NET Core's request span is the parent of the gateway's step span: recording it keeps the
                // parent-based sampler from dropping the whole step trace.
                tracing.AddSource(StarKvTelemetry.Name).AddSource(OrleansSources).AddSource(AspNetCoreSource);
                if (otlp is not null)
                {
                    tracing.AddOtlpExporter(o => o.Endpoint = otlp);
                }

                if (options.Console)
                {
                    tracing.AddConsoleExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(StarKvTelemetry.Name).AddMeter("Microsoft.Orleans");
                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                }

                if (options.Console)
                {
                    metrics.AddConsoleExporter();
                }
            });
        return services;
    }

    private static TelemetryOptions Read(IConfigurationSection section)
    {
        var console = section[nameof(TelemetryOptions.Console)];
        var parsed = false;
        if (!string.IsNullOrWhiteSpace(console) && !bool.TryParse(console, out parsed))
        {
            throw new InvalidOperationException($"{TelemetryOptions.Section}:{nameof(TelemetryOptions.Console)} must be true or false; it is '{console}'.");
        }

        return new TelemetryOptions { OtlpEndpoint = section[nameof(TelemetryOptions.OtlpEndpoint)], Console = parsed };
    }
}
