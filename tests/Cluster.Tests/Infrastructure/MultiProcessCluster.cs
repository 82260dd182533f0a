using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using StarKv.Gateway.Tenants;
using StarKv.Grains.Tests.Storage;
using StarKv.Grains.Tests.Support;
using StarKv.Protos.V1;

namespace StarKv.Cluster.Tests.Infrastructure;

/// <summary>
/// A cluster of real processes on free loopback ports: <c>redis-server</c> (Orleans clustering), Azurite (grain state
/// and KV checkpoints on blobs), <see cref="SiloCount"/> silo processes (<c>dotnet StarKv.Silo.dll --no-gateway</c>) and
/// one gateway process (<c>dotnet StarKv.Gateway.dll</c>), configured only through <c>StarKv__…</c> environment
/// variables as a deployment would. Disposing kills every process tree and deletes the working folders.
/// </summary>
public sealed class MultiProcessCluster : IAsyncLifetime
{
    public const int SiloCount = 3;
    public const string ApiKey = "cluster-test-key";
    public const string TenantId = "load";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-cluster-tests", Guid.NewGuid().ToString("N"));
    private readonly string _clusterId = "cluster-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly AzuriteFixture _azurite = new();
    private readonly List<SiloProcess> _silos = [];
    private RedisServer? _redis;
    private ChildProcess? _gateway;
    private GrpcChannel? _channel;

    public IReadOnlyList<SiloProcess> Silos => _silos;

    public AgentGateway.AgentGatewayClient Client { get; private set; } = null!;

    public static Metadata Bearer { get; } = new() { { "authorization", $"Bearer {ApiKey}" } };

    /// <summary>Time from the first process start until the gateway listed every silo.</summary>
    public TimeSpan StartupTime { get; private set; }

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync().ConfigureAwait(false);
        }
        catch
        {
            // xUnit does not dispose a test class whose InitializeAsync failed: without this, the processes that did
            // start (Azurite, Redis, the silos up to the one that failed) outlive the test run.
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartAsync()
    {
        Directory.CreateDirectory(_root);
        using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var siloCopy = ProgramCopy.TakeAsync(BuildOutputs.SiloDll, Path.Combine(_root, "programs", "silo"), startup.Token);
        var gatewayCopy = ProgramCopy.TakeAsync(BuildOutputs.GatewayDll, Path.Combine(_root, "programs", "gateway"), startup.Token);
        var siloDll = await siloCopy.ConfigureAwait(false);
        var gatewayDll = await gatewayCopy.ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        await _azurite.InitializeAsync().ConfigureAwait(false);
        _redis = await RedisServer.StartAsync(_root, startup.Token).ConfigureAwait(false);

        for (var i = 0; i < SiloCount; i++)
        {
            var ports = FreePorts.Take(3);
            var folder = Directory.CreateDirectory(Path.Combine(_root, $"silo{i}")).FullName;
            var environment = CommonEnvironment();
            environment["StarKv__Cluster__SiloPort"] = Text(ports[0]);
            environment["StarKv__Cluster__GatewayPort"] = Text(ports[1]);
            environment["StarKv__Cluster__AdvertisedAddress"] = "127.0.0.1";
            environment["StarKv__Health__Port"] = Text(ports[2]);
            environment["StarKv__Storage__Kind"] = "azureblob";
            environment["StarKv__Storage__AzureBlobConnectionString"] = _azurite.ConnectionString;
            environment["StarKv__Storage__Container"] = "cluster-test-checkpoints";
            environment["StarKv__Storage__Path"] = Path.Combine(folder, "data");
            environment["StarKv__Model__Source"] = "tiny";
            environment["StarKv__Model__Device"] = "cpu";
            environment["StarKv__Model__Path"] = Path.Combine(folder, "tiny-model");
            environment["StarKv__Capacity__KvBudgetBytes"] = "4000000000";
            var process = ChildProcess.Start($"silo{i}", "dotnet", [siloDll, "--no-gateway", "--no-demo"], environment, folder);
            _silos.Add(new SiloProcess(process, ports[0], new Uri($"http://127.0.0.1:{ports[2]}")));
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        foreach (var silo in _silos)
        {
            await WaitForAsync($"{silo.Process.Name} /healthz", async () =>
            {
                silo.Process.ThrowIfExited();
                try
                {
                    return (await http.GetAsync(new Uri(silo.Health, "/healthz"), startup.Token).ConfigureAwait(false)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, silo.Process, startup.Token).ConfigureAwait(false);
        }

        var gatewayPorts = FreePorts.Take(2);
        var gatewayFolder = Directory.CreateDirectory(Path.Combine(_root, "gateway")).FullName;
        var gatewayEnvironment = CommonEnvironment();
        gatewayEnvironment["StarKv__Gateway__GrpcPort"] = Text(gatewayPorts[0]);
        gatewayEnvironment["StarKv__Health__Port"] = Text(gatewayPorts[1]);
        gatewayEnvironment["StarKv__Tenants__0__Id"] = TenantId;
        gatewayEnvironment["StarKv__Tenants__0__ApiKeySha256"] = TenantDirectory.HashKey(ApiKey);
        gatewayEnvironment["StarKv__Tenants__0__MaxSessions"] = "1000";
        gatewayEnvironment["StarKv__Tenants__0__MaxKvBytes"] = long.MaxValue.ToString(CultureInfo.InvariantCulture);
        gatewayEnvironment["StarKv__Tenants__0__Admin"] = "true";
        _gateway = ChildProcess.Start("gateway", "dotnet", [gatewayDll], gatewayEnvironment, gatewayFolder);

        _channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{gatewayPorts[0]}"));
        Client = new AgentGateway.AgentGatewayClient(_channel);
        await WaitForAsync($"the gateway to list {SiloCount} silos", async () =>
        {
            _gateway.ThrowIfExited();
            try
            {
                var silos = await Client.ListSilosAsync(new ListSilosRequest(), Bearer, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: startup.Token).ConfigureAwait(false);
                return silos.Silos.Count >= SiloCount;
            }
            catch (RpcException)
            {
                return false;
            }
        }, _gateway, startup.Token).ConfigureAwait(false);
        StartupTime = clock.Elapsed;
    }

    /// <summary>The silo process whose Orleans address (<c>ip:port@generation</c>) is <paramref name="siloAddress"/>.</summary>
    public SiloProcess SiloAt(string siloAddress)
    {
        var port = int.Parse(siloAddress.Split('@')[0].Split(':')[^1], CultureInfo.InvariantCulture);
        return _silos.Single(s => s.SiloPort == port);
    }

    /// <summary>The output of every process, for a failure message.</summary>
    public string Outputs() => string.Join("\n\n", _silos.Select(s => s.Process).Append(_gateway).OfType<ChildProcess>()
        .Select(p => $"----- {p.Name} -----\n{p.Output()}"));

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        _gateway?.Dispose();
        foreach (var silo in _silos)
        {
            silo.Process.Dispose();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }

        await _azurite.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A process may still be releasing a file; the folder is under the temp path.
        }
    }

    private Dictionary<string, string> CommonEnvironment() => new()
    {
        ["StarKv__Cluster__Clustering"] = "redis",
        ["StarKv__Cluster__RedisConnectionString"] = _redis!.ConnectionString,
        ["StarKv__Cluster__ClusterId"] = _clusterId,
        ["StarKv__Cluster__ServiceId"] = "starkv-cluster-test",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__StarKv"] = "Information",
        ["DOTNET_gcServer"] = "0",
        ["DOTNET_TieredPGO"] = "0",
    };

    private static async Task WaitForAsync(string what, Func<Task<bool>> condition, ChildProcess process, CancellationToken cancellationToken)
    {
        while (!await condition().ConfigureAwait(false))
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out waiting for {what}. Output of {process.Name}:\n{process.Output()}");
            }

            try
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}. Output of {process.Name}:\n{process.Output()}");
            }
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One silo process, its Orleans silo port (how its address is recognised) and its health endpoint.</summary>
public sealed record SiloProcess(ChildProcess Process, int SiloPort, Uri Health);
