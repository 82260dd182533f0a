using System.ComponentModel.DataAnnotations;

namespace StarKv.Gateway.Configuration;

/// <summary><c>StarKv:Gateway</c>: the gRPC port and the limits on step inputs.</summary>
public sealed class GatewayOptions
{
    public const string Section = "StarKv:Gateway";

    [Range(0, 65535, ErrorMessage = "StarKv:Gateway:GrpcPort must be a TCP port (0..65535).")]
    public int GrpcPort { get; set; } = 5080;

    [Range(1, 512L << 20, ErrorMessage = "StarKv:Gateway:MaxImageBytes must be in 1..536870912.")]
    public long MaxImageBytes { get; set; } = 20L << 20;

    [Range(1, 1 << 20, ErrorMessage = "StarKv:Gateway:MaxInstructionChars must be in 1..1048576.")]
    public int MaxInstructionChars { get; set; } = 4096;
}

/// <summary><c>StarKv:Health</c>: the HTTP port of <c>/healthz</c> and <c>/readyz</c>.</summary>
public sealed class HealthOptions
{
    public const string Section = "StarKv:Health";

    [Range(0, 65535, ErrorMessage = "StarKv:Health:Port must be a TCP port (0..65535).")]
    public int Port { get; set; } = 8081;
}
