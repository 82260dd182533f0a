using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using StarKv.Grains.Tests.Support;

namespace StarKv.Cluster.Tests.Infrastructure;

/// <summary>
/// A throw-away <c>redis-server</c> (Debian's package) on a free loopback port, without persistence, for Orleans'
/// Redis clustering. Fails, never skips, when the server is not installed.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string InstallCommand = "./setup.sh   (or: apt-get install -y redis-server)";

    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis connection string of this server.</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<RedisServer> StartAsync(string workingDirectory, CancellationToken cancellationToken)
    {
        var executable = Find();
        var port = FreePorts.Take(1)[0];
        var process = ChildProcess.Start("redis-server", executable,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            new Dictionary<string, string>(), workingDirectory);
        var server = new RedisServer(process, port);
        try
        {
            await server.WaitUntilAnsweringAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            _process.ThrowIfExited();
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, cancellationToken).ConfigureAwait(false);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException) when (clock.Elapsed < timeout)
            {
            }

            if (clock.Elapsed >= timeout)
            {
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {timeout}:\n{_process.Output()}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Find()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(folder, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"redis-server is not installed, and the multi-process cluster test needs it for Orleans' Redis clustering. From the repository root run: {InstallCommand}");
    }
}
