using System.Globalization;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;
using StarKv.Silo.Configuration;
using StarKv.Silo.Runtime;

namespace StarKv.Silo.Tests;

/// <summary>Hands the silo a test double instead of loading a model.</summary>
public sealed class FakeRuntimeFactory(FakeModelRuntime runtime) : IModelRuntimeFactory
{
    public IModelRuntime Create(ModelSettings settings) => runtime;
}

internal static class SiloTestSupport
{
    /// <summary>Free loopback ports for silo, Orleans gateway, gRPC and health, as configuration keys.</summary>
    public static Dictionary<string, string?> FreePortSettings(string storagePath)
    {
        var ports = FreePorts.Take(4).Select(p => p.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new Dictionary<string, string?>
        {
            ["StarKv:Cluster:SiloPort"] = ports[0],
            ["StarKv:Cluster:GatewayPort"] = ports[1],
            ["StarKv:Cluster:ClusterId"] = "silo-tests-" + Guid.NewGuid().ToString("N")[..8],
            ["StarKv:Gateway:GrpcPort"] = ports[2],
            ["StarKv:Health:Port"] = ports[3],
            ["StarKv:Storage:Path"] = storagePath,
        };
    }
}
