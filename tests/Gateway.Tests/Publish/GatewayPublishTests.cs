using System.Diagnostics;

namespace StarKv.Gateway.Tests.Publish;

/// <summary>
/// Publishes the gateway as the README says (<c>dotnet publish src/Gateway -c Release</c>) and checks that its output
/// carries no model runtime: no TorchSharp or libtorch file, none of the silo's assemblies, and of Orleans only the
/// client's assemblies (plus Orleans.Runtime.dll, which Redis clustering names as an application part).
/// </summary>
public sealed class GatewayPublishTests
{
    /// <summary>The Orleans assemblies a Redis-clustered client needs; anything else of Orleans is the server's.</summary>
    private static readonly string[] OrleansClientAssemblies =
    [
        "Orleans.Clustering.Redis.dll", "Orleans.Core.Abstractions.dll", "Orleans.Core.dll", "Orleans.Runtime.dll",
        "Orleans.Serialization.Abstractions.dll", "Orleans.Serialization.dll",
    ];

    /// <summary>Assemblies of the silo side (model runtime, grains, storage) that must stay out of the gateway.</summary>
    private static readonly string[] SiloOnlyAssemblies =
    [
        "StarKv.GpuWorker.dll", "StarKv.Compression.dll", "StarKv.Grains.dll", "StarKv.Silo.dll", "SkiaSharp.dll",
        "Microsoft.ML.Tokenizers.dll", "Azure.Storage.Blobs.dll",
    ];

    [Fact]
    public async Task The_gateway_publish_output_holds_no_torch_and_no_silo_runtime()
    {
        var output = Path.Combine(Path.GetTempPath(), "starkv-gateway-publish-" + Guid.NewGuid().ToString("N"));
        try
        {
            await PublishAsync(output);

            var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(output, f)).Order(StringComparer.Ordinal).ToList();
            Assert.Contains("StarKv.Gateway.dll", files);
            Assert.Contains("StarKv.Grains.Contracts.dll", files);
            Assert.DoesNotContain(files, f => f.Contains("torch", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(files, f => SiloOnlyAssemblies.Contains(Path.GetFileName(f), StringComparer.OrdinalIgnoreCase));
            Assert.DoesNotContain(files, f => Path.GetFileName(f).StartsWith("Orleans.", StringComparison.Ordinal)
                && f.EndsWith(".dll", StringComparison.Ordinal) && !OrleansClientAssemblies.Contains(Path.GetFileName(f)));
            var bytes = files.Sum(f => new FileInfo(Path.Combine(output, f)).Length);
            Assert.True(bytes < 64L << 20, $"the gateway's publish output holds {bytes:N0} bytes in {files.Count} files");
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static async Task PublishAsync(string output)
    {
        var project = Path.Combine(RepositoryRoot(), "src", "Gateway", "Gateway.csproj");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", "Release", "-o", output, "-nologo" })
        {
            start.ArgumentList.Add(arg);
        }

        // The test host's own MSBuild settings must not leak into the child build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet publish exited {process.ExitCode}: {await stderr}{await stdout}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StarKvCluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"StarKvCluster.sln not found above {AppContext.BaseDirectory}.");
    }
}
