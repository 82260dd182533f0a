using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Hosting;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Storage.Persistence;
using StarKv.Grains.Tests.Fakes;

namespace StarKv.Grains.Tests;

/// <summary>What one silo of a test cluster serves: its model runtime and KV budget.</summary>
public sealed record TestSiloSpec(FakeModelRuntime Runtime, long KvBudgetBytes, double HighWatermark = 0.9);

/// <summary>
/// An in-process Orleans cluster of real silos running the trajectory grains on <see cref="FakeModelRuntime"/>s, with
/// grain state and checkpoints in one temporary folder all silos share (as they would share blob storage).
/// </summary>
public sealed class StarKvTestCluster : IAsyncDisposable
{
    private readonly Dictionary<string, TestSiloSpec> _specs = new(StringComparer.Ordinal);

    private StarKvTestCluster(InProcessTestCluster cluster, string root, IReadOnlyList<TestSiloSpec> specs)
    {
        Cluster = cluster;
        Root = root;
        Specs = specs;
    }

    public InProcessTestCluster Cluster { get; }

    public string Root { get; }

    public IReadOnlyList<TestSiloSpec> Specs { get; }

    public IClusterClient Client => Cluster.Client;

    public static async Task<StarKvTestCluster> StartAsync(
        IReadOnlyList<TestSiloSpec> specs, TimeSpan? idleAfter = null, TimeSpan? shutdownMoveTimeout = null, ILoggerProvider? logs = null, Action<string, IServiceCollection>? configureServices = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "starkv-tests", Guid.NewGuid().ToString("N"));
        var byName = new Dictionary<string, TestSiloSpec>(StringComparer.Ordinal);
        var next = 0;
        var builder = new InProcessTestClusterBuilder((short)specs.Count);
        builder.ConfigureSilo((options, silo) =>
        {
            TestSiloSpec spec;
            lock (byName)
            {
                if (!byName.TryGetValue(options.SiloName, out spec!))
                {
                    spec = specs[next++];
                    byName[options.SiloName] = spec;
                }
            }

            silo.AddStarKvGrains();
            if (logs is not null)
            {
                silo.Services.AddSingleton(logs);
            }

            silo.AddFileSystemGrainStorage(StarKvGrainsSiloExtensions.StorageName, o => o.RootPath = Path.Combine(root, "state"));
            silo.Services.AddSingleton<IModelRuntime>(spec.Runtime);
            silo.Services.AddFileSystemKvCheckpointStore(o => o.RootPath = Path.Combine(root, "kv"));
            silo.Services.Configure<CapacityOptions>(o =>
            {
                o.KvBudgetBytes = spec.KvBudgetBytes;
                o.HighWatermark = spec.HighWatermark;
                // The fake costs 1 KiB per token: a 25% session counts as 250 KiB until it holds more.
                o.ExpectedSessionTokens = 1000;
            });
            silo.Services.Configure<LoadReportOptions>(o =>
            {
                o.Period = TimeSpan.FromMilliseconds(100);
                o.Expiry = TimeSpan.FromSeconds(3);
                o.IdleAfter = idleAfter ?? TimeSpan.FromMinutes(5);
                o.ShutdownMoveTimeout = shutdownMoveTimeout ?? TimeSpan.FromSeconds(1);
            });
            configureServices?.Invoke(root, silo.Services);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var result = new StarKvTestCluster(cluster, root, specs);
        await result.WaitForReportsAsync(specs.Count);
        return result;
    }

    public ISiloLoadRegistryGrain Registry => Client.GetGrain<ISiloLoadRegistryGrain>(0);

    public ITrajectoryGrain Session(string tenant, string session) => Client.GetGrain<ITrajectoryGrain>(new SessionKey(tenant, session).ToString());

    /// <summary>The runtime serving the silo at <paramref name="siloAddress"/> (parsable form).</summary>
    public FakeModelRuntime RuntimeOf(string siloAddress)
    {
        var silo = Cluster.Silos.Single(s => s.SiloAddress.ToParsableString() == siloAddress);
        return (FakeModelRuntime)Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<IModelRuntime>();
    }

    /// <summary>The load view the silo at <paramref name="silo"/> places sessions from.</summary>
    public ClusterLoadView ViewOf(SiloAddress silo) => Cluster.GetSiloServiceProvider(silo).GetRequiredService<ClusterLoadView>();

    public async Task<SessionSnapshot> CreateAsync(string tenant, string session, SessionConfig? config = null)
    {
        config ??= new SessionConfig { ModelId = "tiny", BudgetRatio = 0.25 };
        ModelContext.Set(config.ModelId, config.BudgetRatio, config.BudgetTokens);
        try
        {
            return await Session(tenant, session).CreateAsync(config);
        }
        finally
        {
            ModelContext.Clear();
        }
    }

    /// <summary>
    /// Waits until the load view of every silo holds <paramref name="count"/> reports satisfying <paramref name="until"/>,
    /// and returns the first silo's. Each silo places new sessions from its own view, and the views agree only a report
    /// period or so after a change (silos push their reports to each other); the registry grain answers from the view of
    /// whichever silo it runs on, so it cannot tell whether the silo that places the next session has caught up.
    /// </summary>
    public async Task<IReadOnlyList<SiloLoadReport>> WaitForReportsAsync(int count, Func<IReadOnlyList<SiloLoadReport>, bool>? until = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var views = Cluster.Silos.Select(s => ViewOf(s.SiloAddress).Reports()).ToList();
            if (views.All(reports => reports.Count >= count && (until is null || until(reports))))
            {
                return views[0];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The silos' load views: " + string.Join(" | ", views.Select(v => $"{v.Count} reports: {string.Join("; ", v)}")));
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
