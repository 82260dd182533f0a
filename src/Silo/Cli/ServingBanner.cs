using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using StarKv.Gateway.Configuration;
using StarKv.Grains.Hosting;
using StarKv.Silo.Configuration;
using StarKv.Silo.Hosting;

namespace StarKv.Silo.Cli;

/// <summary>
/// What the program prints once it serves: where clients connect (and whether it is encrypted), who may call, where the
/// state is kept, how to add a tenant when none is configured, and the one line about Ctrl+C.
/// </summary>
internal static class ServingBanner
{
    public static string Describe(WebApplication app, SiloLaunch launch, bool demoRan)
    {
        var text = new StringBuilder();
        var services = app.Services;
        var cluster = services.GetRequiredService<IOptions<ClusterSettings>>().Value;
        var storage = services.GetRequiredService<IOptions<StorageSettings>>().Value;
        var model = services.GetRequiredService<IOptions<ModelSettings>>().Value;
        var local = cluster.Clustering == "localhost";
        var gateway = app.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        var health = app.Configuration.GetSection(HealthOptions.Section).Get<HealthOptions>() ?? new HealthOptions();
        var bound = gateway.ListenAddress(local ? IPAddress.Loopback : IPAddress.Any);
        var reach = IPAddress.IsLoopback(bound) ? "this machine only" : $"every host that reaches {bound}";
        if (launch.HostGateway)
        {
            var grpc = SiloHost.LoopbackGrpcAddress(app.Configuration);
            var encrypted = grpc.Scheme == "https" ? "TLS" : "plaintext; set StarKv:Gateway:TlsCertificatePath and TlsKeyPath for TLS";
            text.AppendLine(CultureInfo.InvariantCulture, $"gRPC gateway (protos/starkv.proto) at {grpc.GetLeftPart(UriPartial.Authority)} ({encrypted}; {reach}); health at http://{grpc.Host}:{health.Port}/readyz");
            AppendTenants(text, services.GetRequiredService<IOptions<TenantDirectoryOptions>>().Value, grpc, demoRan);
        }
        else
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Silo of cluster '{cluster.ClusterId}' (model '{model.Id}'); its gateway runs apart (dotnet StarKv.Gateway.dll); health on port {health.Port} ({reach})");
        }

        if (storage.Kind == "filesystem")
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"State and KV checkpoints: {storage.ResolvedPath}");
        }

        return text.Append("Serving; press Ctrl+C to stop.").ToString();
    }

    private static void AppendTenants(StringBuilder text, TenantDirectoryOptions directory, Uri grpc, bool demoRan)
    {
        var tenants = directory.Tenants.Where(t => t.Id != SiloHost.DemoTenantId || !demoRan).ToList();
        if (tenants.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Tenants: {string.Join(", ", tenants.Select(t => t.Admin ? $"{t.Id} (admin)" : t.Id))}; each calls with 'authorization: Bearer <its key>'.");
            return;
        }

        var plaintext = grpc.Scheme == "http" ? " -plaintext" : "";
        text.AppendLine(demoRan ? "No tenant is configured besides the demo's, whose key is gone; to connect a client, add one:" : "No tenant is configured, so every call is refused (UNAUTHENTICATED); add one:")
            .AppendLine("  KEY=$(openssl rand -hex 24)")
            .AppendLine("  dotnet run --project src/Silo -- --no-demo --set StarKv:Tenants:0:Id=me \\")
            .AppendLine("    --set StarKv:Tenants:0:ApiKeySha256=$(printf '%s' \"$KEY\" | sha256sum | cut -d' ' -f1) --set StarKv:Tenants:0:Admin=true")
            .AppendLine(CultureInfo.InvariantCulture, $"then call it, for example: grpcurl{plaintext} -import-path protos -proto starkv.proto -H \"authorization: Bearer $KEY\" {grpc.Authority} starkv.v1.AgentGateway/ListSilos");
    }
}
