namespace StarKv.Gateway.Tests.Hardening;

/// <summary>The repository checkout the tests run from (the folder holding StarKvCluster.sln).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "StarKvCluster.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No StarKvCluster.sln above {AppContext.BaseDirectory}.");
    }
}
