namespace StarKv.Telemetry;

/// <summary><c>StarKv:Telemetry</c>: where the programs export traces and metrics.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "StarKv:Telemetry";

    /// <summary>OTLP endpoint (gRPC, e.g. <c>http://otel-collector:4317</c>); empty: no OTLP export.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Also write spans and metrics to the console.</summary>
    public bool Console { get; set; }
}
