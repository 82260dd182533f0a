using System.Diagnostics;
using System.Text;
using Azure.Storage.Blobs;
using StarKv.Grains.Tests.Support;

namespace StarKv.Grains.Tests.Storage;

/// <summary>
/// Runs one Azurite blob service for the tests of the "Azurite" collection: in memory, on a free loopback
/// port, with the API version check off (the SDK speaks a newer version than Azurite knows). Fails, never
/// skips, when Azurite is not installed.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string InstallCommand = "./setup.sh   (or: npm install --prefix .tools/azurite azurite@3.37.0)";

    // The development account every Azurite serves, with the well-known key from Azurite's documentation.
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _workspace;

    public string ConnectionString { get; private set; } = string.Empty;

    public int Port { get; private set; }

    public BlobServiceClient ServiceClient => new(ConnectionString);

    /// <summary>A container name no other test uses (<paramref name="prefix"/>: a few lower-case letters).</summary>
    public static string NewContainerName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        var executable = FindAzurite();
        _workspace = Directory.CreateTempSubdirectory("starkv-azurite-").FullName;
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Port = FreePorts.Take(1)[0];
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/{AccountName};";
            try
            {
                Start(executable);
                await WaitUntilAnsweringAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException e) when (e.Message.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                // Another process took the port between probing and binding: try another one.
                last = e;
                Stop();
            }
        }

        throw new InvalidOperationException($"Azurite did not start after 3 attempts.", last);
    }

    public Task DisposeAsync()
    {
        Stop();
        if (_workspace is not null && Directory.Exists(_workspace))
        {
            Directory.Delete(_workspace, recursive: true);
        }

        return Task.CompletedTask;
    }

    private void Start(string executable)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workspace,
        };
        foreach (var argument in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
        })
        {
            start.ArgumentList.Add(argument);
        }

        lock (_output)
        {
            _output.Clear();
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var client = new BlobServiceClient(ConnectionString, new BlobClientOptions { Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(2) } });
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before answering on port {Port}: {CapturedOutput()}");
            }

            try
            {
                await client.GetBlobContainersAsync().AsPages(pageSizeHint: 1).GetAsyncEnumerator().MoveNextAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception) when (clock.Elapsed < timeout)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"Azurite did not answer on port {Port} within {timeout}: {CapturedOutput()}", e);
            }
        }
    }

    private string CapturedOutput()
    {
        lock (_output)
        {
            return _output.Length == 0 ? "(no output)" : _output.ToString();
        }
    }

    private void Stop()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        _process = null;
    }


    /// <summary>The repository's pinned Azurite (installed by setup.sh), else one on the PATH.</summary>
    private static string FindAzurite()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StarKvCluster.sln")))
            {
                var pinned = Path.Combine(dir.FullName, ".tools", "azurite", "node_modules", ".bin", "azurite-blob");
                if (File.Exists(pinned))
                {
                    return pinned;
                }

                break;
            }
        }

        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, "azurite-blob");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"Azurite is not installed, and the blob storage tests need it. From the repository root run: {InstallCommand}");
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteTestGroup : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
