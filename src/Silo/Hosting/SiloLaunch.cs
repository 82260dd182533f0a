namespace StarKv.Silo.Hosting;

/// <summary>How to start this process: with or without the co-hosted gateway, and what overrides configuration.</summary>
public sealed record SiloLaunch
{
    /// <summary>Co-host the gRPC gateway (the embedded mode); false runs a bare silo with its health port.</summary>
    public bool HostGateway { get; init; } = true;

    /// <summary>Configuration keys (<c>StarKv:…</c>) that win over appsettings and environment variables.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    /// <summary>When set, a tenant <c>starkv-demo</c> (admin) with this bearer key is added for the demo client.</summary>
    public string? DemoApiKey { get; init; }

    /// <summary>Where warnings about the configuration go (keys no program reads); null: nowhere.</summary>
    public TextWriter? Warnings { get; init; }

    /// <summary>Last word on services, after the defaults (tests register their own model runtime factory here).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}
