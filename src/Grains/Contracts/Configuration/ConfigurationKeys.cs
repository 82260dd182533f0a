namespace StarKv.Grains.Configuration;

/// <summary>
/// The configuration contract of the programs (Silo, Gateway): every key under the <c>StarKv</c> section, as
/// <c>Section:Key</c> paths. Environment variables spell them <c>StarKv__Section__Key</c>. List sections
/// (<see cref="Tenants"/>) hold elements <c>StarKv:Tenants:N:Key</c>, written here with <c>*</c> for N.
/// The Kubernetes manifests are checked against this list and against the options classes that bind it.
/// </summary>
public static class ConfigurationKeys
{
    public const string Root = "StarKv";

    public const string Model = "StarKv:Model";
    public const string ModelSource = "StarKv:Model:Source";
    public const string ModelPath = "StarKv:Model:Path";
    public const string ModelId = "StarKv:Model:Id";
    public const string ModelDevice = "StarKv:Model:Device";
    public const string ModelDType = "StarKv:Model:DType";
    public const string ModelMaxTaskTokens = "StarKv:Model:MaxTaskTokens";
    public const string ModelMaxInstructionTokens = "StarKv:Model:MaxInstructionTokens";
    public const string ModelMaxTurnTokens = "StarKv:Model:MaxTurnTokens";
    public const string ModelMaxBatchSize = "StarKv:Model:MaxBatchSize";
    public const string ModelMaxTokensPerIteration = "StarKv:Model:MaxTokensPerIteration";

    public const string Capacity = "StarKv:Capacity";
    public const string CapacityKvBudgetBytes = "StarKv:Capacity:KvBudgetBytes";
    public const string CapacityHighWatermark = "StarKv:Capacity:HighWatermark";
    public const string CapacityExpectedSessionTokens = "StarKv:Capacity:ExpectedSessionTokens";

    public const string Cluster = "StarKv:Cluster";
    public const string ClusterClustering = "StarKv:Cluster:Clustering";
    public const string ClusterRedisConnectionString = "StarKv:Cluster:RedisConnectionString";
    public const string ClusterClusterId = "StarKv:Cluster:ClusterId";
    public const string ClusterServiceId = "StarKv:Cluster:ServiceId";
    public const string ClusterSiloPort = "StarKv:Cluster:SiloPort";
    public const string ClusterGatewayPort = "StarKv:Cluster:GatewayPort";
    public const string ClusterAdvertisedAddress = "StarKv:Cluster:AdvertisedAddress";
    public const string ClusterKubernetes = "StarKv:Cluster:Kubernetes";

    public const string Storage = "StarKv:Storage";
    public const string StorageKind = "StarKv:Storage:Kind";
    public const string StoragePath = "StarKv:Storage:Path";
    public const string StorageAzureBlobConnectionString = "StarKv:Storage:AzureBlobConnectionString";
    public const string StorageContainer = "StarKv:Storage:Container";

    public const string Gateway = "StarKv:Gateway";
    public const string GatewayGrpcPort = "StarKv:Gateway:GrpcPort";
    public const string GatewayBindAddress = "StarKv:Gateway:BindAddress";
    public const string GatewayTlsCertificatePath = "StarKv:Gateway:TlsCertificatePath";
    public const string GatewayTlsKeyPath = "StarKv:Gateway:TlsKeyPath";
    public const string GatewayMaxImageBytes = "StarKv:Gateway:MaxImageBytes";
    public const string GatewayMaxImagePixels = "StarKv:Gateway:MaxImagePixels";
    public const string GatewayMaxInstructionChars = "StarKv:Gateway:MaxInstructionChars";

    public const string Tenants = "StarKv:Tenants";
    public const string TenantId = "StarKv:Tenants:*:Id";
    public const string TenantApiKeySha256 = "StarKv:Tenants:*:ApiKeySha256";
    public const string TenantMaxSessions = "StarKv:Tenants:*:MaxSessions";
    public const string TenantMaxKvBytes = "StarKv:Tenants:*:MaxKvBytes";
    public const string TenantAdmin = "StarKv:Tenants:*:Admin";

    public const string Telemetry = "StarKv:Telemetry";
    public const string TelemetryOtlpEndpoint = "StarKv:Telemetry:OtlpEndpoint";
    public const string TelemetryConsole = "StarKv:Telemetry:Console";

    public const string Checkpoints = "StarKv:Checkpoints";
    public const string CheckpointsFullEvery = "StarKv:Checkpoints:FullEvery";

    public const string Actions = "StarKv:Actions";
    public const string ActionsTupleCoordinates = "StarKv:Actions:TupleCoordinates";

    public const string Health = "StarKv:Health";
    public const string HealthPort = "StarKv:Health:Port";

    /// <summary>Every leaf key with the type its value binds to.</summary>
    public static IReadOnlyDictionary<string, Type> All { get; } = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        [ModelSource] = typeof(string),
        [ModelPath] = typeof(string),
        [ModelId] = typeof(string),
        [ModelDevice] = typeof(string),
        [ModelDType] = typeof(string),
        [ModelMaxTaskTokens] = typeof(int),
        [ModelMaxInstructionTokens] = typeof(int),
        [ModelMaxTurnTokens] = typeof(int),
        [ModelMaxBatchSize] = typeof(int),
        [ModelMaxTokensPerIteration] = typeof(int),
        [CapacityKvBudgetBytes] = typeof(long),
        [CapacityHighWatermark] = typeof(double),
        [CapacityExpectedSessionTokens] = typeof(int),
        [ClusterClustering] = typeof(string),
        [ClusterRedisConnectionString] = typeof(string),
        [ClusterClusterId] = typeof(string),
        [ClusterServiceId] = typeof(string),
        [ClusterSiloPort] = typeof(int),
        [ClusterGatewayPort] = typeof(int),
        [ClusterAdvertisedAddress] = typeof(string),
        [ClusterKubernetes] = typeof(bool),
        [StorageKind] = typeof(string),
        [StoragePath] = typeof(string),
        [StorageAzureBlobConnectionString] = typeof(string),
        [StorageContainer] = typeof(string),
        [GatewayGrpcPort] = typeof(int),
        [GatewayBindAddress] = typeof(string),
        [GatewayTlsCertificatePath] = typeof(string),
        [GatewayTlsKeyPath] = typeof(string),
        [GatewayMaxImageBytes] = typeof(long),
        [GatewayMaxImagePixels] = typeof(long),
        [GatewayMaxInstructionChars] = typeof(int),
        [TenantId] = typeof(string),
        [TenantApiKeySha256] = typeof(string),
        [TenantMaxSessions] = typeof(int),
        [TenantMaxKvBytes] = typeof(long),
        [TenantAdmin] = typeof(bool),
        [TelemetryOtlpEndpoint] = typeof(string),
        [TelemetryConsole] = typeof(bool),
        [HealthPort] = typeof(int),
        [CheckpointsFullEvery] = typeof(int),
        [ActionsTupleCoordinates] = typeof(string),
    };

    /// <summary>The values a key accepts, for keys that take one of a fixed set (case-insensitive).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> AllowedValues { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
    {
        [ModelSource] = ["agent", "tiny", "folder"],
        [ModelDType] = ["float32", "bfloat16", "float16"],
        [ClusterClustering] = ["localhost", "redis"],
        [StorageKind] = ["filesystem", "azureblob"],
        [ActionsTupleCoordinates] = ["resized", "normalized1000"],
    };

    /// <summary>
    /// The key for an environment variable name (<c>StarKv__Section__Key</c> → <c>StarKv:Section:Key</c>, list
    /// indexes → <c>*</c>), or <c>null</c> when the name is not under <c>StarKv</c>.
    /// </summary>
    public static string? FromEnvironmentVariable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Split("__");
        if (parts.Length < 2 || !string.Equals(parts[0], Root, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        for (var i = 1; i < parts.Length; i++)
        {
            if (parts[i].Length > 0 && parts[i].All(char.IsAsciiDigit))
            {
                parts[i] = "*";
            }
        }

        return string.Join(':', parts);
    }
}
