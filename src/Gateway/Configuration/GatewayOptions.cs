using System.ComponentModel.DataAnnotations;
using System.Net;

namespace StarKv.Gateway.Configuration;

/// <summary><c>StarKv:Gateway</c>: where the gRPC endpoint listens, its TLS certificate, and the limits on step inputs.</summary>
public sealed class GatewayOptions : IValidatableObject
{
    public const string Section = "StarKv:Gateway";

    /// <summary>The most pixels a screenshot may have, read from its header before anything is decoded (8192 × 8192 at most).</summary>
    public const long MaxImagePixelsCeiling = 1L << 26;

    [Range(0, 65535, ErrorMessage = "StarKv:Gateway:GrpcPort must be a TCP port (0..65535).")]
    public int GrpcPort { get; set; } = 5080;

    /// <summary>
    /// The address the gRPC and health endpoints listen on: an IP address, <c>any</c> (every interface) or
    /// <c>loopback</c>. Empty: the program's default (the embedded mode: loopback; the standalone gateway: any).
    /// </summary>
    public string? BindAddress { get; set; }

    /// <summary>PEM certificate (chain) of the gRPC endpoint; with <see cref="TlsKeyPath"/>, the endpoint speaks TLS only.</summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; set; }

    [Range(1, 512L << 20, ErrorMessage = "StarKv:Gateway:MaxImageBytes must be in 1..536870912.")]
    public long MaxImageBytes { get; set; } = 20L << 20;

    /// <summary>
    /// Width × height a screenshot may have. The default, 40 million, takes 8K-class screens (7680 × 4320 is 33.2
    /// million); the model shrinks anything above its max_pixels (UI-TARS-1.5: 12.8 million) anyway.
    /// </summary>
    [Range(1, MaxImagePixelsCeiling, ErrorMessage = "StarKv:Gateway:MaxImagePixels must be in 1..67108864.")]
    public long MaxImagePixels { get; set; } = 40_000_000;

    [Range(1, 1 << 20, ErrorMessage = "StarKv:Gateway:MaxInstructionChars must be in 1..1048576.")]
    public int MaxInstructionChars { get; set; } = 4096;

    /// <summary>The address to listen on: <see cref="BindAddress"/>, or <paramref name="fallback"/> when it is empty.</summary>
    public IPAddress ListenAddress(IPAddress fallback) => BindAddress?.Trim().ToUpperInvariant() switch
    {
        null or "" => fallback,
        "ANY" => IPAddress.Any,
        "LOOPBACK" or "LOCALHOST" => IPAddress.Loopback,
        _ => IPAddress.Parse(BindAddress),
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BindAddress is { Length: > 0 } bind && bind.Trim().ToUpperInvariant() is not ("ANY" or "LOOPBACK" or "LOCALHOST") && !IPAddress.TryParse(bind, out _))
        {
            yield return new ValidationResult($"StarKv:Gateway:BindAddress '{bind}' is not an IP address, 'any' or 'loopback'.");
        }

        var hasCertificate = !string.IsNullOrWhiteSpace(TlsCertificatePath);
        var hasKey = !string.IsNullOrWhiteSpace(TlsKeyPath);
        if (hasCertificate != hasKey)
        {
            yield return new ValidationResult("StarKv:Gateway:TlsCertificatePath and StarKv:Gateway:TlsKeyPath go together: set both (PEM files) or neither.");
        }

        foreach (var (key, path) in new[] { ("TlsCertificatePath", TlsCertificatePath), ("TlsKeyPath", TlsKeyPath) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            {
                yield return new ValidationResult($"StarKv:Gateway:{key} '{path}' is not a file.");
            }
        }
    }
}

/// <summary><c>StarKv:Health</c>: the HTTP port of <c>/healthz</c> and <c>/readyz</c>.</summary>
public sealed class HealthOptions
{
    public const string Section = "StarKv:Health";

    [Range(0, 65535, ErrorMessage = "StarKv:Health:Port must be a TCP port (0..65535).")]
    public int Port { get; set; } = 8081;
}
