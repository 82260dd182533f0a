using StarKv.GpuWorker.TinyModel;

namespace StarKv.GpuWorker.Tests.TinyModel;

/// <summary>One tiny model folder per test run, shared by the tests that only read it.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "starkv-tiny-" + Guid.NewGuid().ToString("N"));
        TinyModelFolder.Write(Folder, TinyModelFolder.DefaultSeed);
    }

    public string Folder { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
