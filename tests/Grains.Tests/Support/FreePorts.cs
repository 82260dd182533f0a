using System.Net;
using System.Net.Sockets;

namespace StarKv.Grains.Tests.Support;

/// <summary>
/// Loopback ports free right now (all held open together while probing, so they differ). Shared by the test
/// projects that start servers (linked from tests/Grains.Tests/Support).
/// </summary>
public static class FreePorts
{
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
