using System.Diagnostics;
using Microsoft.Extensions.Options;
using StarKv.Bench;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Storage.Checkpoints;
using TorchSharp;

namespace StarKv.StepCost.Bench;

/// <summary>
/// The code this issue started from (built only by <c>run-before-after.sh</c>, against that commit's sources): a session
/// step (preprocessing inside the step, the cache concatenated on every append, a copy of it before each step for
/// rollback), then the trajectory grain's checkpoint path of that code: the whole session saved, wrapped in its envelope
/// and written to a filesystem store before the answer, and the previous blob pruned. That code had no figure for
/// preprocessing: it is timed by preprocessing the same screenshot right before the step, outside it.
/// </summary>
public sealed class SessionStepDriver : IStepDriver
{
    private const string Key = "bench/session";

    private readonly Qwen25VlRuntime _runtime;
    private readonly IAgentSession _session;
    private readonly string _folder;
    private readonly FileSystemKvCheckpointStore _store;

    public SessionStepDriver(Qwen25VlRuntime runtime, SessionOptions options, string folder)
    {
        _runtime = runtime;
        _session = runtime.CreateSession(options);
        _folder = folder;
        _store = new FileSystemKvCheckpointStore(Options.Create(new FileSystemKvCheckpointStoreOptions { RootPath = folder }));
    }

    public string Code => "before";

    public StepRow Step(int step, byte[] screenshot, string instruction)
    {
        var preprocess = Stopwatch.StartNew();
        using (var image = Qwen2VlImageProcessor.Process(screenshot, _runtime.Config.Image, torch.CPU))
        {
        }

        var preprocessMs = preprocess.Elapsed.TotalMilliseconds;

        var watch = Stopwatch.StartNew();
        var figures = _session.Step(screenshot, instruction, CancellationToken.None).Figures;
        var checkpoint = Stopwatch.StartNew();
        var bytes = CheckpointEnvelope.Wrap(_session.Save(), _runtime.Fingerprint);
        var reference = _store.WriteAsync(Key, step - 1, bytes, CancellationToken.None).GetAwaiter().GetResult();
        _store.PruneAsync(Key, reference, CancellationToken.None).GetAwaiter().GetResult();
        var checkpointMs = checkpoint.Elapsed.TotalMilliseconds;
        var wallMs = watch.Elapsed.TotalMilliseconds;
        var parts = preprocessMs + figures.VisionMs + figures.PrefillMs + figures.CompressMs + figures.DecodeMs + checkpointMs;
        return new StepRow(
            step, wallMs, preprocessMs, figures.VisionMs, figures.PrefillMs, figures.CompressMs, figures.DecodeMs, checkpointMs, 0,
            wallMs - parts, reference.Length, _session.KvBytes, figures.SeenTokens, figures.TokensDecoded, ResidentMemory.Current, ResidentMemory.Peak);
    }

    public IReadOnlyDictionary<int, double> FinishBackground() => new Dictionary<int, double>();

    public void Dispose()
    {
        _session.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
