using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StarKv.Gateway;
using StarKv.Gateway.Configuration;
using StarKv.Gateway.Tenants;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Hosting;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Storage.Persistence;
using StarKv.Telemetry;
using StarKv.Silo.Configuration;
using StarKv.Silo.Runtime;

namespace StarKv.Silo.Hosting;

/// <summary>
/// Builds the silo process: an Orleans silo (clustering, grain storage and KV checkpoints from <c>StarKv:*</c>, the
/// trajectory grains, the model runtime from <see cref="IModelRuntimeFactory"/>) and, in the embedded mode, the gRPC
/// gateway on the same host. Every <c>StarKv</c> section is validated when the host starts, before the silo joins.
/// </summary>
public static class SiloHost
{
    public const string DemoTenantId = "starkv-demo";

    /// <summary>
    /// Builds the host. Throws <see cref="OptionsValidationException"/> for settings that are wrong before anything binds
    /// them (values of the wrong type, invalid endpoints, clustering or storage); keys no program reads are reported to
    /// <see cref="SiloLaunch.Warnings"/>.
    /// </summary>
    public static WebApplication Build(SiloLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
        // Defaults below every other source: a quiet console (warnings only; the program prints its own start and stop lines)
        // unless configured.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
                // Until WatchdogStartQuiet lowers it again, a few seconds after start.
                [WatchdogStartQuiet.Category] = "Error",
            },
        });
        builder.Configuration.AddInMemoryCollection(launch.Overrides);
        foreach (var warning in OptionsBinding.CheckKeys(builder.Configuration))
        {
            launch.Warnings?.WriteLine($"warning: {warning}");
        }

        if (launch.DemoApiKey is { } demoKey)
        {
            var index = builder.Configuration.GetSection("StarKv:Tenants").GetChildren().Count();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"StarKv:Tenants:{index}:Id"] = DemoTenantId,
                [$"StarKv:Tenants:{index}:ApiKeySha256"] = TenantDirectory.HashKey(demoKey),
                [$"StarKv:Tenants:{index}:Admin"] = "true",
                [$"StarKv:Tenants:{index}:MaxSessions"] = "16",
            });
        }

        var services = builder.Services;
        AddValidated<ModelSettings, ModelSettingsValidator>(services, ModelSettings.Section);
        AddValidated<ClusterSettings, ClusterSettingsValidator>(services, ClusterSettings.Section);
        AddValidated<StorageSettings, StorageSettingsValidator>(services, StorageSettings.Section);
        services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SessionCheckpointOptions>().BindConfiguration(SessionCheckpointOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddStarKvTelemetry(builder.Configuration, launch.HostGateway ? "starkv-embedded" : "starkv-silo");
        services.TryAddSingleton<IModelRuntimeFactory, Qwen25VlRuntimeFactory>();
        services.AddSingleton<IModelRuntime>(sp => sp.GetRequiredService<IModelRuntimeFactory>().Create(sp.GetRequiredService<IOptions<ModelSettings>>().Value));

        // Clustering and storage shape the silo as it is built, so their settings are checked now rather than at start.
        var cluster = OptionsBinding.BindValidated(builder.Configuration, ClusterSettings.Section, new ClusterSettingsValidator());
        var storage = OptionsBinding.BindValidated(builder.Configuration, StorageSettings.Section, new StorageSettingsValidator());
        builder.UseOrleans(silo =>
        {
            ConfigureClustering(silo, cluster);
            ConfigureStorage(silo, storage);
            silo.AddStarKvGrains();
            // Trace context rides along grain calls, so a step's grain and model spans join the gateway's trace.
            silo.AddActivityPropagation();
            // A step on a large model (or on a CPU) can take far longer than Orleans' default 30 s call timeout.
            silo.Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
        });

        // One machine (localhost clustering): nothing listens beyond loopback unless StarKv:Gateway:BindAddress says so.
        var local = cluster.Clustering == "localhost";
        if (launch.HostGateway)
        {
            builder.AddStarKvGateway(local ? IPAddress.Loopback : IPAddress.Any);
        }
        else
        {
            services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
            var health = OptionsBinding.BindValidated<HealthOptions>(builder.Configuration, HealthOptions.Section);
            var gateway = OptionsBinding.BindValidated<GatewayOptions>(builder.Configuration, GatewayOptions.Section);
            builder.WebHost.ConfigureKestrel(k => k.Listen(gateway.ListenAddress(local ? IPAddress.Loopback : IPAddress.Any), health.Port, l => l.Protocols = HttpProtocols.Http1));
        }

        services.AddHostedService<WatchdogStartQuiet>();
        launch.ConfigureServices?.Invoke(services);
        var app = builder.Build();
        if (launch.HostGateway)
        {
            app.MapStarKvGateway();
        }
        else
        {
            app.MapStarKvHealth();
        }

        return app;
    }

    /// <summary>
    /// Resolves every options class the host validates, so that all failures are reported together, before the host
    /// starts (and before it logs them with a stack trace). Throws <see cref="OptionsValidationException"/> listing them.
    /// </summary>
    public static void ValidateOptions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var failures = new List<string>();
        void Check<TOptions>()
            where TOptions : class
        {
            try
            {
                _ = services.GetService<IOptions<TOptions>>()?.Value;
            }
            catch (OptionsValidationException error)
            {
                failures.AddRange(error.Failures.Select(Unwrapped));
            }
            catch (InvalidOperationException error)
            {
                failures.Add(error.Message);
            }
        }

        Check<ModelSettings>();
        Check<ClusterSettings>();
        Check<StorageSettings>();
        Check<CapacityOptions>();
        Check<GatewayOptions>();
        Check<HealthOptions>();
        Check<TenantDirectoryOptions>();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException("StarKv", typeof(SiloLaunch), failures.Distinct(StringComparer.Ordinal));
        }
    }

    /// <summary>The message of a data annotation, without the options pipeline's "DataAnnotation validation failed for …" around it.</summary>
    private static string Unwrapped(string failure)
    {
        var match = System.Text.RegularExpressions.Regex.Match(failure, "^DataAnnotation validation failed for '[^']*' members: '[^']*' with the error: '(.*)'\\.$");
        return match.Success ? match.Groups[1].Value : failure;
    }

    private static void AddValidated<TOptions, TValidator>(IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
    }

    private static void ConfigureClustering(ISiloBuilder silo, ClusterSettings cluster)
    {
        silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        if (cluster.Kubernetes)
        {
            silo.UseKubernetesHosting();
        }

        if (cluster.Clustering == "redis")
        {
            // Parsed when the options are first read, after start-up validation has refused an empty connection string.
            silo.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.RedisConnectionString!));
            if (!cluster.Kubernetes)
            {
                ConfigureEndpoints(silo, cluster);
            }
        }
        else
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
        }
    }

    private static void ConfigureEndpoints(ISiloBuilder silo, ClusterSettings cluster)
    {
        if (IPAddress.TryParse(cluster.AdvertisedAddress, out var advertised))
        {
            silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        }
        else
        {
            silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        }
    }

    private static void ConfigureStorage(ISiloBuilder silo, StorageSettings storage)
    {
        if (storage.Kind == "azureblob")
        {
            silo.AddAzureBlobGrainStorage(StarKvGrainsSiloExtensions.StorageName, o =>
            {
                o.ConnectionString = storage.AzureBlobConnectionString;
                o.Container = storage.Container;
            });
            silo.Services.AddAzureBlobKvCheckpointStore(o =>
            {
                o.ConnectionString = storage.AzureBlobConnectionString;
                o.Container = storage.Container;
            });
            return;
        }

        var root = storage.ResolvedPath;
        silo.AddFileSystemGrainStorage(StarKvGrainsSiloExtensions.StorageName, o => o.RootPath = Path.Combine(root, "state"));
        silo.Services.AddFileSystemKvCheckpointStore(o => o.RootPath = Path.Combine(root, "kv"));
    }

    /// <summary>
    /// The gRPC address of the co-hosted gateway as a client on this machine reaches it: loopback unless the gateway is
    /// bound to another address; <c>https</c> when it has a certificate.
    /// </summary>
    public static Uri LoopbackGrpcAddress(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var gateway = configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        var address = gateway.ListenAddress(IPAddress.Loopback);
        var host = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        var scheme = string.IsNullOrWhiteSpace(gateway.TlsCertificatePath) ? "http" : "https";
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://{host}:{gateway.GrpcPort}"));
    }
}
