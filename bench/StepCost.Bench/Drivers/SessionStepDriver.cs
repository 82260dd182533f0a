using System.Diagnostics;
using Microsoft.Extensions.Options;
using StarKv.Bench;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Sessions;
using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.StepCost.Bench;

/// <summary>
/// The code after this issue: a session step (preprocessing before the runtime's lock, the cache written in place, rollback
/// without a copy), then the trajectory grain's checkpoint path driven without a cluster: the step's delta captured and
/// streamed to a filesystem store, awaited; every <see cref="SessionCheckpointOptions.FullEvery"/> deltas a full checkpoint
/// written in the background and adopted by the next step that finds it done, which prunes the older blobs.
/// </summary>
public sealed class SessionStepDriver : IStepDriver
{
    private const string Key = "bench/session";

    private readonly Qwen25VlRuntime _runtime;
    private readonly IAgentSession _session;
    private readonly string _folder;
    private readonly SessionCheckpoints _checkpoints;
    private readonly Dictionary<int, double> _background = [];
    private CheckpointReference? _full;
    private readonly List<CheckpointReference> _deltas = [];
    private (int Step, Task<(CheckpointReference Reference, double Milliseconds)> Write)? _pending;

    public SessionStepDriver(Qwen25VlRuntime runtime, SessionOptions options, string folder)
    {
        _runtime = runtime;
        _session = runtime.CreateSession(options);
        _folder = folder;
        var store = new FileSystemKvCheckpointStore(Options.Create(new FileSystemKvCheckpointStoreOptions { RootPath = folder }));
        _checkpoints = new SessionCheckpoints(store, Options.Create(new SessionCheckpointOptions()));
    }

    public string Code => "after";

    public StepRow Step(int step, byte[] screenshot, string instruction)
    {
        var watch = Stopwatch.StartNew();
        var figures = _session.Step(screenshot, instruction, CancellationToken.None).Figures;

        var checkpoint = Stopwatch.StartNew();
        var rebased = Adopt();
        CheckpointReference reference;
        bool full;
        using (var capture = _session.CaptureCheckpoint(full: _full is null))
        {
            full = !capture.IsDelta;
            reference = _checkpoints.WriteAsync(Key, step - 1, _runtime.Fingerprint, capture, CancellationToken.None).GetAwaiter().GetResult();
        }

        if (full)
        {
            _full = reference;
            _deltas.Clear();
            rebased = true;
        }
        else
        {
            _deltas.Add(reference);
        }

        if (rebased)
        {
            _checkpoints.PruneAsync(Key, [_full!, .. _deltas], CancellationToken.None).GetAwaiter().GetResult();
        }

        var checkpointMs = checkpoint.Elapsed.TotalMilliseconds;
        if (_pending is null && _deltas.Count >= _checkpoints.FullEvery)
        {
            var whole = _session.CaptureCheckpoint(full: true);
            var started = Stopwatch.StartNew();
            var write = _checkpoints.WriteInBackground(Key, step - 1, _runtime.Fingerprint, whole, CancellationToken.None);
            _pending = (step, write.ContinueWith(t => (t.Result, started.Elapsed.TotalMilliseconds), TaskScheduler.Default));
        }

        var wallMs = watch.Elapsed.TotalMilliseconds;
        var parts = figures.PreprocessMs + figures.VisionMs + figures.PrefillMs + figures.CompressMs + figures.DecodeMs + checkpointMs;
        return new StepRow(
            step, wallMs, figures.PreprocessMs, figures.VisionMs, figures.PrefillMs, figures.CompressMs, figures.DecodeMs, checkpointMs, 0,
            wallMs - parts, reference.Length, _session.KvBytes, figures.SeenTokens, figures.TokensDecoded, ResidentMemory.Current, ResidentMemory.Peak);
    }

    public IReadOnlyDictionary<int, double> FinishBackground()
    {
        if (_pending is { } pending)
        {
            _background[pending.Step] = pending.Write.GetAwaiter().GetResult().Milliseconds;
            _pending = null;
        }

        return _background;
    }

    public void Dispose()
    {
        FinishBackground();
        _session.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A background full checkpoint that is done becomes the chain's start (as the grain adopts it).</summary>
    private bool Adopt()
    {
        if (_pending is not { Write.IsCompleted: true } pending)
        {
            return false;
        }

        _pending = null;
        var (reference, milliseconds) = pending.Write.GetAwaiter().GetResult();
        _background[pending.Step] = milliseconds;
        _full = reference;
        _deltas.RemoveAll(d => d.StepIndex <= reference.StepIndex);
        return true;
    }
}
