using System.Diagnostics;
using System.Text.Json;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>
/// Evaluates the project that references libtorch with and without <c>-p:TorchBackend=cuda</c> and checks which
/// native backend package it asks for. Evaluation only: TorchSharp-cuda-linux need not be restorable here.
/// </summary>
public sealed class TorchBackendTests
{
    private static readonly string CompressionProject = Path.Combine(RepositoryRoot.Path, "src", "Compression", "Compression.csproj");

    [Fact]
    public async Task Default_build_references_the_cpu_libtorch()
    {
        var packages = await PackageReferencesAsync(CompressionProject, backend: null);

        Assert.Contains("TorchSharp", packages);
        Assert.Contains("libtorch-cpu-linux-x64", packages);
        Assert.DoesNotContain("TorchSharp-cuda-linux", packages);
    }

    [Fact]
    public async Task Cuda_backend_swaps_the_cpu_libtorch_for_TorchSharp_cuda_linux()
    {
        var packages = await PackageReferencesAsync(CompressionProject, backend: "cuda");

        Assert.Contains("TorchSharp-cuda-linux", packages);
        Assert.DoesNotContain("libtorch-cpu-linux-x64", packages);
        Assert.Contains("TorchSharp", packages);
    }

    [Fact]
    public async Task Cuda_package_version_matches_TorchSharp()
    {
        var props = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "Directory.Packages.props"));
        var doc = System.Xml.Linq.XDocument.Parse(props);
        string? VersionOf(string id) => doc.Descendants("PackageVersion")
            .SingleOrDefault(e => (string?)e.Attribute("Include") == id)?.Attribute("Version")?.Value;

        Assert.Equal("0.107.0", VersionOf("TorchSharp"));
        Assert.Equal(VersionOf("TorchSharp"), VersionOf("TorchSharp-cuda-linux"));
    }

    private static async Task<IReadOnlyList<string>> PackageReferencesAsync(string project, string? backend)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "msbuild", project, "-getItem:PackageReference", "-nologo" })
        {
            start.ArgumentList.Add(arg);
        }

        if (backend is not null)
        {
            start.ArgumentList.Add($"-p:TorchBackend={backend}");
        }

        // The test host's own MSBuild settings must not leak into the child evaluation.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"dotnet msbuild exited {process.ExitCode}: {await stderr}{await stdout}");

        using var json = JsonDocument.Parse(await stdout);
        return json.RootElement.GetProperty("Items").GetProperty("PackageReference")
            .EnumerateArray()
            .Select(item => item.GetProperty("Identity").GetString()!)
            .ToList();
    }
}
