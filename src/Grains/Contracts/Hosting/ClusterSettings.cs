using System.ComponentModel.DataAnnotations;

namespace StarKv.Grains.Hosting;

/// <summary><c>StarKv:Cluster</c>: how silos find each other and where clients reach them.</summary>
public sealed class ClusterSettings
{
    public const string Section = "StarKv:Cluster";

    /// <summary><c>localhost</c> (one machine, development) or <c>redis</c> (<see cref="RedisConnectionString"/>).</summary>
    [RegularExpression("^(localhost|redis)$", ErrorMessage = "StarKv:Cluster:Clustering must be 'localhost' or 'redis'.")]
    public string Clustering { get; set; } = "localhost";

    public string? RedisConnectionString { get; set; }

    [Required(AllowEmptyStrings = false, ErrorMessage = "StarKv:Cluster:ClusterId must not be empty.")]
    public string ClusterId { get; set; } = "starkv";

    [Required(AllowEmptyStrings = false, ErrorMessage = "StarKv:Cluster:ServiceId must not be empty.")]
    public string ServiceId { get; set; } = "starkv";

    [Range(1, 65535, ErrorMessage = "StarKv:Cluster:SiloPort must be a TCP port (1..65535).")]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535, ErrorMessage = "StarKv:Cluster:GatewayPort must be a TCP port (1..65535).")]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The IP address other silos and clients use to reach this one (optional; default: the loopback or the first NIC).</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Use Orleans' Kubernetes hosting (pod name, namespace and IP from the environment).</summary>
    public bool Kubernetes { get; set; }
}
