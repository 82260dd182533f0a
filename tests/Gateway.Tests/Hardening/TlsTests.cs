using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StarKv.Gateway.Tenants;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;
using StarKv.Protos.V1;
using StarKv.Silo.Hosting;
using StarKv.Silo.Runtime;

namespace StarKv.Gateway.Tests.Hardening;

/// <summary>With a certificate configured, the gRPC port speaks TLS only.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-tls-tests", Guid.NewGuid().ToString("N"));
    private X509Certificate2 _certificate = null!;
    private WebApplication _app = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=starkv-gateway-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(Path.Combine(_root, "tls.crt"), _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_root, "tls.key"), key.ExportPkcs8PrivateKeyPem());

        var ports = FreePorts.Take(4);
        _port = ports[2];
        var settings = new Dictionary<string, string?>
        {
            ["StarKv:Cluster:SiloPort"] = Text(ports[0]),
            ["StarKv:Cluster:GatewayPort"] = Text(ports[1]),
            ["StarKv:Cluster:ClusterId"] = "tls-tests-" + Guid.NewGuid().ToString("N")[..8],
            ["StarKv:Gateway:GrpcPort"] = Text(ports[2]),
            ["StarKv:Health:Port"] = Text(ports[3]),
            ["StarKv:Gateway:TlsCertificatePath"] = Path.Combine(_root, "tls.crt"),
            ["StarKv:Gateway:TlsKeyPath"] = Path.Combine(_root, "tls.key"),
            ["StarKv:Storage:Path"] = Path.Combine(_root, "state"),
            ["StarKv:Tenants:0:Id"] = "a",
            ["StarKv:Tenants:0:ApiKeySha256"] = TenantDirectory.HashKey(EmbeddedCluster.KeyA),
        };
        _app = SiloHost.Build(new SiloLaunch
        {
            Overrides = settings,
            ConfigureServices = services => services.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(new FakeModelRuntime())),
        });
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task The_gateway_answers_over_tls_and_refuses_plaintext()
    {
        using var handler = new HttpClientHandler
        {
            // Trust exactly the test's certificate.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == _certificate.Thumbprint,
        };
        using var secure = GrpcChannel.ForAddress($"https://127.0.0.1:{_port}", new GrpcChannelOptions { HttpHandler = handler });
        var client = new AgentGateway.AgentGatewayClient(secure);

        var created = await client.CreateSessionAsync(new CreateSessionRequest { SessionId = "over-tls", Model = "tiny" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyA));
        Assert.Equal("over-tls", created.SessionId);
        Assert.Equal("https", SiloHost.LoopbackGrpcAddress(_app.Configuration).Scheme);

        using var plain = GrpcChannel.ForAddress($"http://127.0.0.1:{_port}");
        var refused = await Assert.ThrowsAsync<RpcException>(() => new AgentGateway.AgentGatewayClient(plain)
            .GetSessionAsync(new GetSessionRequest { SessionId = "over-tls" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyA), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
        Assert.NotEqual(StatusCode.NotFound, refused.StatusCode);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
