using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using StarKv.Gateway.Configuration;
using StarKv.Gateway.Errors;
using StarKv.Gateway.Services;
using StarKv.Gateway.Sessions;
using StarKv.Gateway.Tenants;
using StarKv.Gateway.Validation;
using StarKv.Grains.Admin;
using StarKv.Grains.Hosting;
using StarKv.Grains.Placement;
using StarKv.Telemetry;

namespace StarKv.Gateway;

/// <summary>
/// Builds the gateway: gRPC (<see cref="AgentGatewayService"/>) on <c>StarKv:Gateway:GrpcPort</c> (HTTP/2, TLS when a
/// certificate is configured) and <c>/healthz</c> + <c>/readyz</c> on <c>StarKv:Health:Port</c> (HTTP/1.1). Standalone it
/// is an Orleans client of the cluster and listens on every interface; the silo's embedded mode calls
/// <see cref="AddStarKvGateway"/> and <see cref="MapStarKvGateway"/> on its own host, on loopback unless configured.
/// </summary>
public static class GatewayApp
{
    /// <summary>
    /// The standalone gateway: an Orleans client of the cluster named in <c>StarKv:Cluster</c>. Throws
    /// <see cref="OptionsValidationException"/> for invalid settings; unknown keys go to <paramref name="warnings"/>.
    /// </summary>
    public static WebApplication Build(string[] args, TextWriter? warnings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        foreach (var warning in OptionsBinding.CheckKeys(builder.Configuration))
        {
            (warnings ?? Console.Error).WriteLine($"warning: {warning}");
        }

        var cluster = OptionsBinding.BindValidated<ClusterSettings>(builder.Configuration, ClusterSettings.Section);
        builder.UseOrleansClient(client =>
        {
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            // Trace context rides along grain calls, so the grain's spans join the gateway's step trace.
            client.AddActivityPropagation();
            // A step on a large model can take far longer than Orleans' default 30 s call timeout; calls to a silo that
            // died are released sooner by SessionCalls.
            client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
            if (cluster.Clustering == "redis")
            {
                client.UseRedisClustering(cluster.RedisConnectionString ?? throw new OptionsValidationException(
                    ClusterSettings.Section, typeof(ClusterSettings), ["StarKv:Cluster:RedisConnectionString is required when Clustering is 'redis'."]));
            }
            else
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
        });
        builder.Services.AddStarKvTelemetry(builder.Configuration, "starkv-gateway");
        builder.AddStarKvGateway(IPAddress.Any);
        var app = builder.Build();
        ValidateOptions(app.Services);
        app.MapStarKvGateway();
        return app;
    }

    /// <summary>
    /// Resolves the gateway's validated options now, so that every failure is reported together before the host starts
    /// (the host would log each with a stack trace). Throws <see cref="OptionsValidationException"/> listing them.
    /// </summary>
    public static void ValidateOptions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var failures = new List<string>();
        foreach (var resolve in new Func<object?>[]
        {
            () => services.GetRequiredService<IOptions<GatewayOptions>>().Value,
            () => services.GetRequiredService<IOptions<HealthOptions>>().Value,
            () => services.GetRequiredService<IOptions<TenantDirectoryOptions>>().Value,
        })
        {
            try
            {
                _ = resolve();
            }
            catch (OptionsValidationException error)
            {
                failures.AddRange(error.Failures);
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException("StarKv", typeof(GatewayOptions), failures);
        }
    }

    /// <summary>
    /// Registers the gateway's services and binds its Kestrel endpoints from configuration, on <paramref name="defaultBind"/>
    /// unless <c>StarKv:Gateway:BindAddress</c> says otherwise. Throws <see cref="OptionsValidationException"/> for
    /// invalid endpoint settings before anything listens.
    /// </summary>
    public static WebApplicationBuilder AddStarKvGateway(this WebApplicationBuilder builder, IPAddress defaultBind)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(defaultBind);
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TenantDirectoryOptions>().BindConfiguration(TenantDirectoryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TenantDirectoryOptions>, TenantDirectoryOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<StepInputValidator>();
        services.AddSingleton<ClusterAdmin>();
        services.AddSingleton<SessionCalls>();
        services.AddSingleton<SiloLiveness>();
        services.AddHostedService(sp => sp.GetRequiredService<SiloLiveness>());
        services.AddSingleton<DomainErrorInterceptor>();
        services.AddSingleton<TenantAuthenticationInterceptor>();
        services.AddSingleton<IServiceMethodProvider<AgentGatewayService>, AgentGatewayMethods>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<DomainErrorInterceptor>();
            grpc.Interceptors.Add<TenantAuthenticationInterceptor>();
        });
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<GatewayOptions>>((grpc, gateway) =>
        {
            // Room for the largest screenshot plus the message around it; the validator names the real limit.
            grpc.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, gateway.Value.MaxImageBytes + (1 << 20));
        });

        var gateway = OptionsBinding.BindValidated<GatewayOptions>(builder.Configuration, GatewayOptions.Section);
        var health = OptionsBinding.BindValidated<HealthOptions>(builder.Configuration, HealthOptions.Section);
        var address = gateway.ListenAddress(defaultBind);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, gateway.GrpcPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (gateway.TlsCertificatePath is { Length: > 0 } certificate)
                {
                    listen.UseHttps(X509Certificate2.CreateFromPemFile(certificate, gateway.TlsKeyPath));
                }
            });
            kestrel.Listen(address, health.Port, listen => listen.Protocols = HttpProtocols.Http1);
        });
        return builder;
    }

    /// <summary>Maps the gRPC service and the health endpoints.</summary>
    public static WebApplication MapStarKvGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<AgentGatewayService>();
        return app.MapStarKvHealth();
    }

    /// <summary>
    /// <c>/healthz</c>: the process answers. <c>/readyz</c>: the cluster is reachable and at least one silo has reported
    /// its load (so sessions can be placed).
    /// </summary>
    public static WebApplication MapStarKvHealth(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", async (IGrainFactory grains, CancellationToken cancellationToken) =>
        {
            try
            {
                var reports = await grains.GetGrain<ISiloLoadRegistryGrain>(0).GetReportsAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                return reports.Count > 0
                    ? Results.Text($"ready: {reports.Count} silo(s)")
                    : Results.Text("not ready: no silo has reported its load yet", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            catch (Exception error) when (error is TimeoutException or OrleansException or InvalidOperationException)
            {
                return Results.Text($"not ready: {error.Message}", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        return app;
    }
}
