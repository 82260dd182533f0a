using System.ComponentModel.DataAnnotations;

namespace StarKv.Gateway.Configuration;

/// <summary>One entry of <c>StarKv:Tenants</c>: who the tenant is, the SHA-256 of its bearer key, and its quotas.</summary>
public sealed class TenantOptions
{
    public string Id { get; set; } = "";

    /// <summary>Hex SHA-256 of the tenant's API key (the key itself is never stored).</summary>
    public string ApiKeySha256 { get; set; } = "";

    public int MaxSessions { get; set; } = 100;

    /// <summary>KV bytes all the tenant's sessions may hold together.</summary>
    public long MaxKvBytes { get; set; } = 8L << 30;

    /// <summary>May call ListSilos, MigrateSession and DrainSilo.</summary>
    public bool Admin { get; set; }
}

/// <summary>The <c>StarKv</c> section as far as tenants go.</summary>
public sealed class TenantDirectoryOptions
{
    public const string Section = "StarKv";

    [Required]
    public List<TenantOptions> Tenants { get; set; } = [];
}
