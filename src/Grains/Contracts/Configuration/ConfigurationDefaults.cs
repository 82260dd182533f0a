namespace StarKv.Grains.Configuration;

/// <summary>Defaults of the contract that deployments must agree with (ports above all).</summary>
public static class ConfigurationDefaults
{
    public const int SiloPort = 11111;
    public const int GatewayPort = 30000;
    public const int GrpcPort = 5080;
    public const int HealthPort = 8081;
    public const string ClusterId = "starkv";
    public const string ServiceId = "starkv";
    public const string StorageContainer = "starkv-checkpoints";
    public const long MaxImageBytes = 20L << 20;
    public const int MaxInstructionChars = 4096;
    public const double HighWatermark = 0.9;
    public const string HealthLivenessPath = "/healthz";
    public const string HealthReadinessPath = "/readyz";
}
