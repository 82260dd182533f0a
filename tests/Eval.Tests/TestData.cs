using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.Eval.Tests;

/// <summary>The repository's fixtures (<c>eval/fixtures</c>, built from <c>samples/gui</c>) and scratch folders.</summary>
public static class TestData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "eval", "fixtures")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No eval/fixtures in the repository above {AppContext.BaseDirectory}.");
    });

    public static string RepositoryRoot => Root.Value;

    public static string Fixture(string name) => Path.Combine(RepositoryRoot, "eval", "fixtures", name);

    public static string Sample(string image) => Path.Combine(RepositoryRoot, "samples", "gui", image);

    public static string TempFolder(string prefix)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"starkv-eval-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }
}

/// <summary>The tiny model loaded once for the runner tests.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Folder = TestData.TempFolder("tiny");
        TinyModelFolder.EnsureWritten(Folder, TinyModelFolder.DefaultSeed);
        Runtime = Qwen25VlRuntime.LoadFolder(Folder, "tiny", torch.CPU, torch.ScalarType.Float32);
    }

    public string Folder { get; }

    public Qwen25VlRuntime Runtime { get; }

    public void Dispose()
    {
        Runtime.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TinyModelGroup : ICollectionFixture<TinyModelFixture>
{
    public const string Name = "Tiny model";
}
