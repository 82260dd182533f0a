using System.Diagnostics;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.Telemetry;
using StarKv.GpuWorker.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// One agent trajectory on a <see cref="Qwen25VlRuntime"/>. A step preprocesses the screenshot, runs the vision
/// encoder, builds the turn with Qwen2.5-VL's chat template, prefills it with M-RoPE positions continuing from the
/// session's next position, compresses every layer's cache with the session's compressor right after that layer's
/// attention, and greedy-decodes the reply.
/// <para>
/// Turns (<see cref="SessionMode.RetainedCache"/>): the first step is <c>system</c>, a user turn with the UI-TARS
/// computer prompt for the task (<see cref="SessionOptions.Task"/>, or the first instruction when the task is empty),
/// a user turn with the screenshot followed by the instruction (omitted when it became the task), and
/// <c>&lt;|im_start|&gt;assistant\n</c>. A later step continues the conversation exactly as the chat template renders
/// it: <c>&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n</c>, the screenshot, the instruction,
/// <c>&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c>. Decoding stops at any end token the checkpoint names
/// (<see cref="Qwen25VlConfig.EndTokenIds"/>: config.json's and generation_config.json's <c>eos_token_id</c>), at
/// <c>&lt;|im_end|&gt;</c> (the chat template's end of turn) or after <see cref="SessionOptions.MaxNewTokens"/> tokens.
/// Every generated token but an end token enters the cache: each decode step appends the previous token, and the
/// last one (when decoding was cut off) and <c>&lt;|im_end|&gt;</c> open the next step's prefill, so the history is
/// the same tokens as the chat template's (which closes the reply with <c>&lt;|im_end|&gt;</c> whatever end token
/// stopped it). Decoding never emits the vision tokens
/// (image/video pad, vision start/end): they are masked, since they would make the history unreadable.
/// </para>
/// <para>
/// <see cref="SessionMode.ReprefillHistory"/> keeps no cache between steps: each step prefills the whole history
/// (system, task prompt, for each past step its screenshot turn if among the last
/// <see cref="SessionOptions.HistoryScreenshots"/> screenshots counting the current one, then its reply as an
/// assistant turn), then the current screenshot, into a fresh cache that is compressed and decoded from, then freed.
/// </para>
/// <para>
/// Failure: a step that fails after it began changing the session (a compressor throws, the token is cancelled
/// between layers or decode tokens) restores the session to its state before the step without copying the cache: the
/// cache remembers its committed entries and keeps the storage a compression replaced until the step commits
/// (<see cref="KvCache.BeginStep"/>, <see cref="KvCache.Rollback"/>), and the compressor state is saved as bytes. An
/// undecodable screenshot fails before anything changes. Sessions take one step at a time; a concurrent call fails
/// with <see cref="InvalidOperationException"/>. The screenshot is decoded, resized and normalised before the
/// runtime's lock (<see cref="StepFigures.PreprocessMs"/>, span <c>preprocess</c>); the model's work of all sessions of
/// a runtime is serialised by the runtime, step by step in the serial mode, or (continuous batching, either mode) in
/// the iterations of its <see cref="StepScheduler"/>, which runs this step's prefill in chunks and decodes its tokens in
/// batches with other sessions' work.
/// </para>
/// <para>
/// Checkpoints: <see cref="CaptureCheckpoint"/> takes the whole session or, right after a step, what the step changed
/// (per layer, the committed entries each head kept and its new entries; the new history, pending tokens, positions
/// and compressor state), referencing the cache's entries instead of copying them.
/// </para>
/// </summary>
public sealed partial class AgentSession : IAgentSession
{
    private readonly Qwen25VlRuntime _runtime;
    private readonly IKvCompressor _compressor;
    private readonly List<SessionHistoryStep> _history = [];
    private readonly List<KeptScreenshot> _screenshots = [];
    private readonly List<int> _appendedIds = [];
    private readonly torch.Tensor _bannedTokens; // [4] int64: vision tokens never decoded
    private readonly HashSet<int> _endTokens;
    private readonly int _imEnd;
    private CompressorState _state;
    private KvCache? _cache;
    private List<int> _pending = [];
    private string? _taskPrompt;
    private float[]? _lastPromptLogits;
    private IReadOnlyList<IReadOnlyList<TokenInfo>>[]? _lastReprefillTokens; // [layer][head][entry] of the last re-prefilled cache
    private int _busy;
    private int _capturedSteps = -1; // StepsTaken at the last checkpoint capture (or restore); -1: none
    private bool _disposed;

    internal AgentSession(Qwen25VlRuntime runtime, SessionOptions options, IKvCompressor compressor)
    {
        _runtime = runtime;
        Options = options;
        _compressor = compressor;
        _state = new CompressorState();
        _cache = options.Mode == SessionMode.RetainedCache ? runtime.Model.NewCache() : null;
        var tokens = runtime.Config.Tokens;
        _bannedTokens = torch.tensor(
            new long[] { tokens.ImageTokenId, tokens.VideoTokenId, tokens.VisionStartTokenId, tokens.VisionEndTokenId },
            device: runtime.Model.Device).DetachFromDisposeScope(); // [4]
        _imEnd = runtime.Tokenizer.TokenId(Qwen25VlChatTemplate.ImEnd);
        _endTokens = [.. runtime.Config.EndTokenIds, _imEnd];
    }

    public SessionOptions Options { get; }

    public int StepsTaken => _history.Count;

    public long KvBytes => _cache?.Bytes ?? 0;

    /// <summary>The M-RoPE position the next token of the session takes (in re-prefill mode: of the last prefilled sequence).</summary>
    public long NextPosition { get; private set; }

    /// <summary>The finished steps: instruction, reply, image pad count.</summary>
    public IReadOnlyList<SessionHistoryStep> History => _history;

    /// <summary>The fp32 logits after the last step's prefill (the first reply token's distribution), or null before any step.</summary>
    public IReadOnlyList<float>? LastPromptLogits => _lastPromptLogits;

    /// <summary>
    /// The token ids this instance has appended to its cache since it was opened or restored, prefilled and decoded,
    /// in order (retained mode; in re-prefill mode the last step's sequence). Not part of a checkpoint.
    /// </summary>
    public IReadOnlyList<int> AppendedIds => _appendedIds;

    /// <summary>Tokens the session has appended to its cache so far (retained mode), prefilled or decoded.</summary>
    public long SeenTokens => _cache?.SeenTokens ?? 0;

    /// <summary>
    /// Which screenshot cells the cache keeps after the last step, per layer (read-only; computed on each call): in
    /// retained mode from the live cache, in re-prefill mode from the last step's cache before it was freed. Empty
    /// layers before any step.
    /// </summary>
    public KeptVision KeptVisionCells()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var layers = _cache is { } cache ? cache.Layers.Select(l => l.Tokens).ToArray() : _lastReprefillTokens;
        var kvHeads = _runtime.Config.Text.NumKeyValueHeads;
        if (layers is null)
        {
            return new KeptVision(kvHeads, Enumerable.Range(0, _runtime.Model.LayerCount).Select(_ => (IReadOnlyList<KeptVisionCell>)[]).ToArray());
        }

        var result = new IReadOnlyList<KeptVisionCell>[layers.Length];
        for (var layer = 0; layer < layers.Length; layer++)
        {
            var counts = new Dictionary<(int Shot, int Row, int Col), int>();
            foreach (var head in layers[layer])
            {
                foreach (var token in head)
                {
                    if (token.Modality == TokenModality.Image)
                    {
                        var key = (token.ScreenshotIndex, token.GridRow, token.GridCol);
                        counts[key] = counts.GetValueOrDefault(key) + 1;
                    }
                }
            }

            result[layer] = counts.Select(pair => new KeptVisionCell(pair.Key.Shot, pair.Key.Row, pair.Key.Col, pair.Value))
                .OrderBy(c => c.ScreenshotIndex).ThenBy(c => c.Row).ThenBy(c => c.Col).ToArray();
        }

        return new KeptVision(kvHeads, result);
    }

    public StepOutcome Step(ReadOnlyMemory<byte> screenshot, string instruction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _runtime.Limits.CheckInstruction(_runtime.Tokenizer, instruction);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new InvalidOperationException("A step of this session is already running; a session takes one step at a time.");
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (image, preprocessMs) = Preprocess(screenshot.Span);
            using (image)
            {
                if (_runtime.Scheduler is { } scheduler)
                {
                    // The scheduler runs the model work in its iterations, under the gate; this thread waits.
                    return Options.Mode == SessionMode.RetainedCache
                        ? StepRetained(image, preprocessMs, instruction, scheduler, cancellationToken)
                        : StepReprefill(image, preprocessMs, screenshot, instruction, scheduler, cancellationToken);
                }

                using var gate = _runtime.ExecutionGate.EnterScope();
                using var noGrad = torch.no_grad();
                return Options.Mode == SessionMode.RetainedCache
                    ? StepRetained(image, preprocessMs, instruction, null, cancellationToken)
                    : StepReprefill(image, preprocessMs, screenshot, instruction, null, cancellationToken);
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public byte[] Save()
    {
        using var checkpoint = (SessionCheckpoint)CaptureCheckpoint(full: true);
        return checkpoint.ToBytes();
    }

    public ISessionCheckpoint CaptureCheckpoint(bool full)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new InvalidOperationException("A step of this session is running; take a checkpoint after it finished.");
        }

        try
        {
            var previous = _capturedSteps;
            _capturedSteps = StepsTaken;
            if (!full && StepsTaken > 0 && previous == StepsTaken - 1)
            {
                var deltas = _cache?.CaptureStep();
                if (_cache is null || deltas is not null)
                {
                    return NewCheckpoint(SessionCheckpointKind.Delta, StepsTaken - 1, _screenshots.Where(s => s.StepIndex >= StepsTaken - 1), deltas ?? []);
                }
            }

            return NewCheckpoint(SessionCheckpointKind.Full, 0, _screenshots, []);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _cache?.Dispose();
        foreach (var shot in _screenshots)
        {
            shot.Dispose();
        }

        _bannedTokens.Dispose();
    }

    private SessionCheckpoint NewCheckpoint(SessionCheckpointKind kind, int historyFrom, IEnumerable<KeptScreenshot> screenshots, IReadOnlyList<LayerKvDelta> deltas) => new()
    {
        Kind = kind,
        Fingerprint = _runtime.Fingerprint,
        Options = Options,
        StepsTaken = StepsTaken,
        NextPosition = NextPosition,
        TaskPrompt = _taskPrompt,
        HistoryFrom = historyFrom,
        History = _history.Skip(historyFrom).ToArray(),
        PendingIds = _pending.ToArray(),
        Screenshots = screenshots.Select(s => new SavedScreenshot(s.StepIndex, s.Bytes)).ToArray(),
        KeptScreenshotSteps = _screenshots.Select(s => s.StepIndex).ToArray(),
        CompressorState = _state.ToBytes(),
        Layers = kind == SessionCheckpointKind.Full ? _cache?.CaptureFull() ?? [] : [],
        LayerDeltas = deltas,
    };

    internal static AgentSession Restore(Qwen25VlRuntime runtime, SessionCheckpoint saved, IKvCompressor compressor) =>
        Restore(runtime, [saved], compressor);

    /// <summary>Restores a session from one full checkpoint and the deltas after it; disposes them.</summary>
    internal static AgentSession Restore(Qwen25VlRuntime runtime, IReadOnlyList<SessionCheckpoint> chain, IKvCompressor compressor)
    {
        try
        {
            var first = chain[0];
            if (first.Kind != SessionCheckpointKind.Full)
            {
                throw new SessionCheckpointException($"A checkpoint chain starts with a full checkpoint; its first one is a delta of step {first.StepsTaken - 1}.");
            }

            var session = new AgentSession(runtime, first.Options, compressor);
            try
            {
                using var gate = runtime.ExecutionGate.EnterScope();
                session.Load(first);
                for (var i = 1; i < chain.Count; i++)
                {
                    session.ApplyDelta(chain[i]);
                }

                session._capturedSteps = session.StepsTaken;
                return session;
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var checkpoint in chain)
            {
                checkpoint.Dispose();
            }
        }
    }

    private void Load(SessionCheckpoint saved)
    {
        var model = _runtime.Model;
        if (Options.Mode == SessionMode.RetainedCache)
        {
            if (saved.Layers.Count != model.LayerCount)
            {
                throw new SessionCheckpointException($"The session checkpoint holds {saved.Layers.Count} cache layers; the model has {model.LayerCount}.");
            }

            try
            {
                var restored = KvCache.Restore(saved.Layers, model.Device, model.DType);
                _cache?.Dispose();
                _cache = restored;
            }
            catch (ArgumentException e)
            {
                throw new SessionCheckpointException($"The session checkpoint's cache does not fit the model: {e.Message}", e);
            }
        }

        LoadSmallState(saved);
    }

    private void ApplyDelta(SessionCheckpoint delta)
    {
        if (delta.Kind != SessionCheckpointKind.Delta)
        {
            throw new SessionCheckpointException($"A checkpoint chain holds one full checkpoint, first; a later one (after step {delta.StepsTaken - 1}) is full.");
        }

        if (delta.HistoryFrom != StepsTaken || delta.StepsTaken != StepsTaken + 1)
        {
            throw new SessionCheckpointException(
                $"The checkpoint chain has a gap: a delta of step {delta.StepsTaken - 1} follows the state after {StepsTaken} steps.");
        }

        if (delta.Options != Options)
        {
            throw new SessionCheckpointException("A delta of the checkpoint chain belongs to a session with other options.");
        }

        if (_cache is { } cache)
        {
            try
            {
                cache.Apply(delta.LayerDeltas);
            }
            catch (ArgumentException e)
            {
                throw new SessionCheckpointException($"The delta of step {delta.StepsTaken - 1} does not continue the restored cache: {e.Message}", e);
            }
        }

        LoadSmallState(delta);
    }

    /// <summary>Everything but the cache: compressor state, history (appended), pending tokens, positions, screenshots.</summary>
    private void LoadSmallState(SessionCheckpoint saved)
    {
        var model = _runtime.Model;
        try
        {
            _state = CompressorState.FromBytes(saved.CompressorState);
        }
        catch (CompressorStateFormatException e)
        {
            throw new SessionCheckpointException($"The session checkpoint's compressor state is damaged: {e.Message}", e);
        }

        _history.AddRange(saved.History);
        _pending = [.. saved.PendingIds];
        _taskPrompt = saved.TaskPrompt;
        NextPosition = saved.NextPosition;
        foreach (var shot in saved.Screenshots)
        {
            try
            {
                using var image = Qwen2VlImageProcessor.Process(shot.Bytes, _runtime.Config.Image, model.Device);
                _screenshots.Add(new KeptScreenshot(shot.StepIndex, shot.Bytes, image.Grid, model.EncodeImage(image.Patches, image.Grid).DetachFromDisposeScope()));
            }
            catch (ImageDecodeException e)
            {
                throw new SessionCheckpointException($"The session checkpoint's screenshot of step {shot.StepIndex} cannot be decoded: {e.Message}", e);
            }
        }

        var kept = saved.KeptScreenshotSteps.ToHashSet();
        foreach (var shot in _screenshots.Where(s => !kept.Contains(s.StepIndex)).ToList())
        {
            shot.Dispose();
            _screenshots.Remove(shot);
        }

        if (_screenshots.Count != kept.Count)
        {
            throw new SessionCheckpointException($"The session checkpoint keeps the screenshots of steps [{string.Join(", ", kept)}] but holds [{string.Join(", ", _screenshots.Select(s => s.StepIndex))}].");
        }
    }

    /// <summary>Decodes, resizes and normalises the screenshot into patches on the CPU; runs before the runtime's lock.</summary>
    private (PreprocessedImage Image, double Milliseconds) Preprocess(ReadOnlySpan<byte> screenshot)
    {
        using var span = StarKvTelemetry.StartPhase(StarKvSpanNames.Preprocess);
        var watch = Stopwatch.StartNew();
        var image = Qwen2VlImageProcessor.Process(screenshot, _runtime.Config.Image, torch.CPU);
        return (image, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>Runs the vision encoder on the preprocessed screenshot (its patches moved onto the model's device). // [V, hidden]</summary>
    private (torch.Tensor Features, double Milliseconds) Encode(PreprocessedImage image)
    {
        var model = _runtime.Model;
        using var span = StarKvTelemetry.StartPhase(StarKvSpanNames.Vision);
        var watch = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        var patches = image.Patches.device == model.Device ? image.Patches : image.Patches.to(model.Device); // [N, 1176]
        var features = model.EncodeImage(patches, image.Grid).MoveToOuterDisposeScope(); // [V, hidden]
        return (features, watch.Elapsed.TotalMilliseconds);
    }

    private StepOutcome StepRetained(PreprocessedImage image, double preprocessMs, string instruction, StepScheduler? scheduler, CancellationToken cancellationToken)
    {
        var stepIndex = StepsTaken;
        var taskPrompt = _taskPrompt ?? TaskPromptFor(instruction);
        var imageTokens = image.Grid.MergedTokenCount(_runtime.Config.Vision.SpatialMergeSize);
        var stepText = AgentTurns.StepText(stepIndex, instruction, Options.Task);
        var text = stepIndex == 0 ? AgentTurns.FirstStep(taskPrompt, imageTokens, stepText) : AgentTurns.LaterStep(imageTokens, stepText);
        List<int> ids = [.. _pending, .. _runtime.Tokenizer.Encode(text)];
        CheckImageTokens(ids, imageTokens);
        _runtime.Limits.CheckTurn(ids.Count, imageTokens, 1);

        var cache = _cache!;
        var stateBackup = _state.ToBytes();
        cache.BeginStep();
        try
        {
            // Room for the turn and every token decoding may append (all but the last generated one), so both write in place.
            cache.ReserveMore(ids.Count + Options.MaxNewTokens - 1);
            TurnResult turn;
            DecodeResult decoded;
            double visionMs;
            if (scheduler is null)
            {
                (var encoded, visionMs) = Encode(image);
                using var features = encoded; // [V, hidden]
                turn = RunTurn(ids, features, [image.Grid], stepIndex, cache, NextPosition, cancellationToken);
                decoded = Decode(turn.Logits, cache, turn.NextPosition, cancellationToken);
            }
            else
            {
                using var work = new ScheduledStep(this, () => Encode(image), [image.Grid], stepIndex, ids, cache, NextPosition, cancellationToken);
                scheduler.Run(work);
                (turn, decoded, visionMs) = work.Result();
            }

            cache.Commit();
            var outcome = Outcome(stepIndex, image, ids.Count, turn, decoded, preprocessMs, visionMs, cache);

            _taskPrompt = taskPrompt;
            _appendedIds.AddRange(ids);
            _appendedIds.AddRange(decoded.Generated.Take(decoded.Count - 1));
            _pending = decoded.Pending;
            NextPosition = decoded.NextPosition;
            _history.Add(new SessionHistoryStep(instruction, decoded.Reply, imageTokens));
            _lastPromptLogits = turn.Logits;
            return outcome;
        }
        catch
        {
            if (cache.InStep)
            {
                cache.Rollback();
            }

            _state = CompressorState.FromBytes(stateBackup);
            throw;
        }
    }

    private StepOutcome StepReprefill(
        PreprocessedImage image, double preprocessMs, ReadOnlyMemory<byte> screenshot, string instruction, StepScheduler? scheduler, CancellationToken cancellationToken)
    {
        var model = _runtime.Model;
        var merge = _runtime.Config.Vision.SpatialMergeSize;
        var bytes = screenshot.ToArray();
        var stepIndex = StepsTaken;
        KeptScreenshot? current = null;
        try
        {
            var taskPrompt = _taskPrompt ?? TaskPromptFor(instruction);
            var text = new System.Text.StringBuilder(Qwen25VlChatTemplate.SystemTurn()).Append(Qwen25VlChatTemplate.UserTurn(taskPrompt));
            for (var i = 0; i < _history.Count; i++)
            {
                if (_screenshots.FirstOrDefault(s => s.StepIndex == i) is { } shot)
                {
                    text.Append(Qwen25VlChatTemplate.UserTurn([shot.Grid.MergedTokenCount(merge)], AgentTurns.StepText(i, _history[i].Instruction, Options.Task)));
                }

                text.Append(Qwen25VlChatTemplate.AssistantTurn(_history[i].Reply));
            }

            var imageTokens = image.Grid.MergedTokenCount(merge);
            text.Append(Qwen25VlChatTemplate.UserTurn([imageTokens], AgentTurns.StepText(stepIndex, instruction, Options.Task))).Append(Qwen25VlChatTemplate.GenerationPrompt);
            List<int> ids = [.. _runtime.Tokenizer.Encode(text.ToString())];
            GridThw[] grids = [.. _screenshots.Select(s => s.Grid), image.Grid];
            var firstScreenshotIndex = _screenshots.Count > 0 ? _screenshots[0].StepIndex : stepIndex;
            CheckImageTokens(ids, grids.Sum(g => g.MergedTokenCount(merge)));
            _runtime.Limits.CheckTurn(ids.Count, grids.Sum(g => g.MergedTokenCount(merge)), grids.Length);

            // The current screenshot is encoded once and kept for the next steps; the turn reads every kept one and it.
            (torch.Tensor Features, double Milliseconds) EncodeTurn()
            {
                var (encoded, ms) = Encode(image);
                current = new KeptScreenshot(stepIndex, bytes, image.Grid, encoded.DetachFromDisposeScope()); // [V, hidden]
                return (torch.cat([.. _screenshots.Select(s => s.Features), current.Features], 0).DetachFromDisposeScope(), ms); // [ΣV, hidden]
            }

            using var cache = model.NewCache();
            cache.ReserveMore(ids.Count + Options.MaxNewTokens - 1);
            var stateBackup = _state.ToBytes();
            try
            {
                TurnResult turn;
                DecodeResult decoded;
                double visionMs;
                if (scheduler is null)
                {
                    (var all, visionMs) = EncodeTurn();
                    using var allFeatures = all; // [ΣV, hidden]
                    turn = RunTurn(ids, allFeatures, grids, firstScreenshotIndex, cache, 0, cancellationToken);
                    decoded = Decode(turn.Logits, cache, turn.NextPosition, cancellationToken);
                }
                else
                {
                    using var work = new ScheduledStep(this, EncodeTurn, grids, firstScreenshotIndex, ids, cache, 0, cancellationToken);
                    scheduler.Run(work);
                    (turn, decoded, visionMs) = work.Result();
                }

                var outcome = Outcome(stepIndex, image, ids.Count, turn, decoded, preprocessMs, visionMs, cache);

                _taskPrompt = taskPrompt;
                _appendedIds.Clear();
                _appendedIds.AddRange(ids);
                _appendedIds.AddRange(decoded.Generated.Take(decoded.Count - 1));
                NextPosition = decoded.NextPosition;
                _history.Add(new SessionHistoryStep(instruction, decoded.Reply, imageTokens));
                _lastPromptLogits = turn.Logits;
                _lastReprefillTokens = cache.Layers.Select(l => l.Tokens).ToArray();
                _screenshots.Add(current!);
                current = null;
                while (_screenshots.Count > Options.HistoryScreenshots - 1)
                {
                    _screenshots[0].Dispose();
                    _screenshots.RemoveAt(0);
                }

                return outcome;
            }
            catch
            {
                _state = CompressorState.FromBytes(stateBackup);
                throw;
            }
        }
        finally
        {
            current?.Dispose();
        }
    }

    private TurnResult RunTurn(
        List<int> ids, torch.Tensor features, GridThw[] grids, int firstScreenshotIndex, KvCache cache, long startPosition, CancellationToken cancellationToken)
    {
        var plan = PlanTurn(ids, grids, firstScreenshotIndex, cache, startPosition, cancellationToken);
        using var positions = plan.Positions;
        var compression = plan.Compression;
        var watch = Stopwatch.StartNew();
        using var prefill = StarKvTelemetry.StartPhase(StarKvSpanNames.Prefill)?.SetTag(StarKvAttributes.Tokens, ids.Count);
        using var logits = _runtime.Model.Prefill(
            ids,
            features,
            positions,
            plan.Bookkeeping,
            cache,
            capture => compression.Compress(capture.LayerIndex, capture.LayerCount, capture.TurnQueries, capture.Cache, capture.ColumnSums, capture.HiddenStatesIn.narrow(0, compression.ScreenshotStart, compression.ScreenshotTokens)),
            attentionColumnSums: _compressor.UsesPrefillColumnSums); // [vocab]
        using var host = logits.cpu();
        var values = host.data<float>().ToArray();
        var prefillMs = watch.Elapsed.TotalMilliseconds - compression.Milliseconds;
        return new TurnResult(values, positions.NextPosition, compression.KeptPerLayer, prefillMs, compression.Milliseconds);
    }

    /// <summary>A turn's positions, bookkeeping, and the compression its layers get, as the prefill (whole or in chunks) needs them.</summary>
    private TurnPlan PlanTurn(List<int> ids, GridThw[] grids, int firstScreenshotIndex, KvCache cache, long startPosition, CancellationToken cancellationToken)
    {
        var config = _runtime.Config;
        var merge = config.Vision.SpatialMergeSize;
        var imageTokenId = config.Tokens.ImageTokenId;
        var positions = MropePositions.ForTurn(ids, imageTokenId, grids, merge, startPosition);
        var bookkeeping = MropePositions.Bookkeeping(ids, imageTokenId, grids, merge, cache.SeenTokens, firstScreenshotIndex);

        // The current screenshot is the turn's last image: its tokens end at the last image pad.
        var currentGrid = grids[^1];
        var currentTokens = currentGrid.MergedTokenCount(merge);
        var currentStart = ids.LastIndexOf(imageTokenId) - currentTokens + 1;
        var screenshotGrid = new ScreenshotGrid(firstScreenshotIndex + grids.Length - 1, currentGrid.MergedRows(merge), currentGrid.MergedCols(merge));
        var budget = Options.BudgetTokens is { } tokens ? KvBudget.FromTokens(tokens) : KvBudget.FromRatio(Options.BudgetRatio);
        var compression = new TurnCompression(_compressor, _state, budget, screenshotGrid, currentStart, currentTokens, cache.LayerCount, cancellationToken);
        return new TurnPlan(positions, bookkeeping, compression);
    }

    private DecodeResult Decode(float[] promptLogits, KvCache cache, long startPosition, CancellationToken cancellationToken)
    {
        var model = _runtime.Model;
        cancellationToken.ThrowIfCancellationRequested();
        using var span = StarKvTelemetry.StartPhase(StarKvSpanNames.Decode);
        var watch = Stopwatch.StartNew();
        var decoding = StartDecoding(promptLogits, startPosition);
        while (!decoding.Finished)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var logits = model.DecodeStep(decoding.NextToken, decoding.Position, cache); // [vocab]
            decoding.Accept(logits);
        }

        return FinishDecoding(decoding, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>Greedy decoding from the prefill's logits: the first token is chosen, the rest come one decode at a time.</summary>
    private GreedyDecoding StartDecoding(float[] promptLogits, long startPosition)
    {
        using var first = torch.tensor(promptLogits, device: _runtime.Model.Device); // [vocab]
        return new GreedyDecoding(Greedy(first), startPosition, _endTokens, Options.MaxNewTokens, Greedy);
    }

    private DecodeResult FinishDecoding(GreedyDecoding decoding, double milliseconds)
    {
        var generated = decoding.Generated;
        var next = decoding.NextToken;
        var position = decoding.Position;

        // The last token is not in the cache yet: the next step's prefill starts with it, unless it is an end token, and
        // closes the reply with <|im_end|> as the chat template does.
        var ended = _endTokens.Contains(next);
        List<int> pending = ended ? [_imEnd] : [next, _imEnd];
        var replyIds = ended ? generated.Take(generated.Count - 1) : generated;
        var reply = _runtime.Tokenizer.Decode(replyIds);
        return new DecodeResult(reply, generated, pending, position, milliseconds);
    }

    private int Greedy(torch.Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        var masked = logits.index_fill(0, _bannedTokens, float.NegativeInfinity); // [vocab]
        return (int)masked.argmax().item<long>();
    }

    private StepOutcome Outcome(int stepIndex, PreprocessedImage image, int prefilled, TurnResult turn, DecodeResult decoded, double preprocessMs, double visionMs, KvCache cache)
    {
        var figures = new StepFigures
        {
            TokensPrefilled = prefilled,
            TokensDecoded = decoded.Count,
            SeenTokens = cache.SeenTokens,
            KeptPerLayer = turn.KeptPerLayer,
            KvBytes = cache.Bytes,
            FullKvBytes = cache.SeenTokens * _runtime.KvBytesPerToken,
            PreprocessMs = preprocessMs,
            VisionMs = visionMs,
            PrefillMs = turn.PrefillMs,
            CompressMs = turn.CompressMs,
            DecodeMs = decoded.Milliseconds,
        };
        return new StepOutcome(stepIndex, decoded.Reply, image.OriginalWidth, image.OriginalHeight, image.ResizedWidth, image.ResizedHeight, figures);
    }

    private string TaskPromptFor(string instruction) => AgentTurns.TaskPrompt(Options.Task, instruction);

    private void CheckImageTokens(IReadOnlyList<int> ids, int expected)
    {
        var imageTokenId = _runtime.Config.Tokens.ImageTokenId;
        var found = ids.Count(id => id == imageTokenId);
        if (found != expected)
        {
            throw new ArgumentException(
                $"The turn holds {found} image pad tokens but its screenshots need {expected}: the instruction or history must not contain vision special tokens.");
        }
    }

    private sealed record TurnPlan(TurnPositions Positions, IReadOnlyList<TokenInfo> Bookkeeping, TurnCompression Compression);

    private sealed record TurnResult(float[] Logits, long NextPosition, IReadOnlyList<long> KeptPerLayer, double PrefillMs, double CompressMs);

    private sealed record DecodeResult(string Reply, List<int> Generated, List<int> Pending, long NextPosition, double Milliseconds)
    {
        public int Count => Generated.Count;
    }

    /// <summary>A screenshot a re-prefilling session re-sends: its bytes (for checkpoints), grid and encoded tokens.</summary>
    private sealed class KeptScreenshot(int stepIndex, byte[] bytes, GridThw grid, torch.Tensor features) : IDisposable
    {
        public int StepIndex { get; } = stepIndex;

        public byte[] Bytes { get; } = bytes;

        public GridThw Grid { get; } = grid;

        /// <summary>// [V, hidden]</summary>
        public torch.Tensor Features { get; } = features;

        public void Dispose() => Features.Dispose();
    }
}
