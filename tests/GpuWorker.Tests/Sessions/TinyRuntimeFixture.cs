using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.SyntheticScreens;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

/// <summary>The built-in tiny model written into a temp folder and loaded once (fp32, CPU) for the session tests.</summary>
public sealed class TinyRuntimeFixture : IDisposable
{
    public TinyRuntimeFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "starkv-session-tiny-" + Guid.NewGuid().ToString("N"));
        Runtime = Qwen25VlRuntime.LoadBuiltInTiny(Folder, torch.CPU);
    }

    public string Folder { get; }

    public Qwen25VlRuntime Runtime { get; }

    /// <summary>A synthetic screenshot; sizes are chosen so that the tiny preprocessor keeps a small, non-square grid.</summary>
    public static byte[] Screen(int step, int width = 320, int height = 200) => SyntheticScreenRenderer.RenderPng(11, width, height, step);

    public void Dispose()
    {
        Runtime.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TinyRuntimeGroup : ICollectionFixture<TinyRuntimeFixture>
{
    public const string Name = "Tiny runtime";
}
