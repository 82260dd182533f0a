using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Grpc.Net.Client;
using StarKv.Gateway.Tenants;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;
using StarKv.Protos.V1;
using StarKv.Silo.Configuration;
using StarKv.Silo.Hosting;
using StarKv.Silo.Runtime;

namespace StarKv.Gateway.Tests;

/// <summary>Hands the silo a test double instead of loading a model.</summary>
public sealed class FakeRuntimeFactory(FakeModelRuntime runtime) : IModelRuntimeFactory
{
    public IModelRuntime Create(ModelSettings settings) => runtime;
}

/// <summary>
/// The embedded mode on free loopback ports: one silo with the gateway co-hosted, filesystem storage in a temporary
/// folder, <see cref="FakeModelRuntime"/>, and four tenants (a, b, "tight" with small quotas, "quota" with one session)
/// plus an admin.
/// </summary>
public sealed class EmbeddedCluster : IAsyncLifetime
{
    public const string KeyA = "key-of-tenant-a";
    public const string KeyB = "key-of-tenant-b";
    public const string KeyTight = "key-of-tenant-tight";
    public const string KeyAdmin = "key-of-the-admin";
    public const string KeyQuota = "key-of-tenant-quota";
    public const int MaxImageBytes = 256 * 1024;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-gateway-tests", Guid.NewGuid().ToString("N"));
    private WebApplication? _app;
    private GrpcChannel? _channel;

    public FakeModelRuntime Runtime { get; } = new() { StepDelay = TimeSpan.FromMilliseconds(2) };

    /// <summary>The configuration the silo was started with (ports, cluster id, tenants, limits).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    public Uri GrpcAddress { get; private set; } = null!;

    public Uri HealthAddress { get; private set; } = null!;

    public AgentGateway.AgentGatewayClient Client { get; private set; } = null!;

    /// <summary>The channel under <see cref="Client"/>, for calls that send raw bytes.</summary>
    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("The cluster has not started.");

    public static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    public async Task InitializeAsync()
    {
        var ports = FreePorts.Take(4);
        var settings = new Dictionary<string, string?>
        {
            ["StarKv:Cluster:SiloPort"] = Port(ports[0]),
            ["StarKv:Cluster:GatewayPort"] = Port(ports[1]),
            ["StarKv:Cluster:ClusterId"] = "gateway-tests-" + Guid.NewGuid().ToString("N")[..8],
            ["StarKv:Gateway:GrpcPort"] = Port(ports[2]),
            ["StarKv:Gateway:MaxImageBytes"] = Port(MaxImageBytes),
            ["StarKv:Gateway:MaxInstructionChars"] = "200",
            ["StarKv:Health:Port"] = Port(ports[3]),
            ["StarKv:Storage:Path"] = _root,
            ["StarKv:Capacity:KvBudgetBytes"] = "1000000000",
        };
        AddTenant(settings, 0, "a", KeyA, maxSessions: 200, maxKvBytes: long.MaxValue, admin: false);
        AddTenant(settings, 1, "b", KeyB, maxSessions: 200, maxKvBytes: long.MaxValue, admin: false);
        AddTenant(settings, 2, "tight", KeyTight, maxSessions: 2, maxKvBytes: 20_000, admin: false);
        AddTenant(settings, 3, "ops", KeyAdmin, maxSessions: 10, maxKvBytes: long.MaxValue, admin: true);
        AddTenant(settings, 4, "quota", KeyQuota, maxSessions: 1, maxKvBytes: long.MaxValue, admin: false);

        Settings = settings;
        _app = SiloHost.Build(new SiloLaunch
        {
            Overrides = settings,
            ConfigureServices = services => services.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(Runtime)),
        });
        await _app.StartAsync();
        GrpcAddress = new Uri($"http://127.0.0.1:{ports[2]}");
        HealthAddress = new Uri($"http://127.0.0.1:{ports[3]}");
        _channel = GrpcChannel.ForAddress(GrpcAddress, new GrpcChannelOptions { MaxSendMessageSize = 8 << 20 });
        Client = new AgentGateway.AgentGatewayClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static void AddTenant(Dictionary<string, string?> settings, int index, string id, string key, int maxSessions, long maxKvBytes, bool admin)
    {
        settings[$"StarKv:Tenants:{index}:Id"] = id;
        settings[$"StarKv:Tenants:{index}:ApiKeySha256"] = TenantDirectory.HashKey(key);
        settings[$"StarKv:Tenants:{index}:MaxSessions"] = Port(maxSessions);
        settings[$"StarKv:Tenants:{index}:MaxKvBytes"] = maxKvBytes.ToString(CultureInfo.InvariantCulture);
        settings[$"StarKv:Tenants:{index}:Admin"] = admin ? "true" : "false";
    }

    private static string Port(int value) => value.ToString(CultureInfo.InvariantCulture);
}
