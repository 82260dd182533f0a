using System.Reflection;

namespace StarKv.Cluster.Tests.Infrastructure;

/// <summary>Where the programs under test were built: <c>src/&lt;Project&gt;/bin/&lt;Configuration&gt;/&lt;tfm&gt;/</c>.</summary>
public static class BuildOutputs
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string SiloDll => Program("Silo", "StarKv.Silo.dll");

    public static string GatewayDll => Program("Gateway", "StarKv.Gateway.dll");

    /// <summary>Where the test writes what it measured (git-ignored).</summary>
    public static string ArtifactsFolder(string name) => Directory.CreateDirectory(Path.Combine(RepositoryRoot, "artifacts", name)).FullName;

    private static string Program(string project, string dll)
    {
        // This test assembly's own configuration and target framework name the sibling output folder.
        var configuration = typeof(BuildOutputs).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var path = Path.Combine(RepositoryRoot, "src", project, "bin", configuration, framework, dll);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{dll} is not built at {path}; build it with: dotnet build src/{project} -c {configuration}", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StarKvCluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"StarKvCluster.sln not found above {AppContext.BaseDirectory}.");
    }
}
