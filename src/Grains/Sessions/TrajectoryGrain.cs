using Microsoft.Extensions.Logging;
using Orleans.Runtime.Placement;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Sessions;
using StarKv.Telemetry;
using StarKv.Grains.Actions;
using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Tenants;

namespace StarKv.Grains.Sessions;

/// <summary>
/// One agent trajectory on this silo's model runtime. The runtime session lives in memory between steps, and its state is
/// kept as a checkpoint chain (<see cref="SessionCheckpoints"/>): a full checkpoint, then one delta per step holding what
/// the step changed (the cache entries each head kept and its new ones, the new history, positions and compressor state),
/// each framed in a <see cref="CheckpointEnvelope"/> with the model fingerprint, so a new activation (after migration, a
/// drain or a crash) restores the session on its own silo's device from the last step.
/// <para>
/// Durability: a step is answered only once its delta is durable in the store and the grain state naming it (with the
/// step's result, for idempotent replay) is written. The delta is captured right after the step without copying the
/// cache and streamed to the store off the runtime's lock; its time is <c>CheckpointMs</c> of the step's figures. A crash
/// before the answer loses the step: the client's retry of that step index runs it again from the last durable state. A
/// crash after the answer loses nothing; a retried index returns the stored result. Every
/// <see cref="SessionCheckpointOptions.FullEvery"/> deltas the whole session is written in the background, off the
/// step's path; the next call that finds it durable makes the chain start from it (persisted with that call's state) and
/// then deletes the older blobs. Losing a background full checkpoint loses nothing: the chain it would replace still
/// restores the same state. If a delta cannot be written the step fails and the in-memory session is dropped, so a retry
/// starts again from the durable chain.
/// </para>
/// </summary>
[KvCapacityPlacement]
internal sealed partial class TrajectoryGrain(
    [PersistentState(TrajectoryGrain.StateName, "checkpoints")] IPersistentState<TrajectoryState> state,
    IModelRuntime runtime,
    SessionCheckpoints checkpoints,
    IStepActionParser parser,
    SiloSessionLedger ledger,
    SessionFootprintEstimator footprint,
    ILocalSiloDetails siloDetails,
    TimeProvider clock,
    ILogger<TrajectoryGrain> logger) : Grain, ITrajectoryGrain, IGrainMigrationParticipant, IIncomingGrainCallFilter
{
    /// <summary>The name the trajectory state is persisted under (placement reads it for a session reactivated after a crash).</summary>
    internal const string StateName = "trajectory";

    private const string MigratedCheckpointKey = "starkv.checkpoint";

    private IAgentSession? _session;
    private string? _runningCall;
    private string? _migratedFrom;
    private bool _counted;
    private BackgroundFullCheckpoint? _full;

    private string Key => this.GetPrimaryKeyString();

    private string Silo => siloDetails.SiloAddress.ToParsableString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_migratedFrom is not null && state.State is { Config: not null, Closed: false, CheckpointReference: not null })
        {
            // Rehydrated after a migration: land the cache on this silo's device now rather than on the next step.
            try
            {
                await EnsureSessionAsync(cancellationToken).ConfigureAwait(true);
                LogRehydrated(logger, Key, state.State.CheckpointReference!.BlobName, Silo);
            }
            catch (StarKvException error)
            {
                LogRestoreFailed(logger, error, Key);
            }
        }

        if (state.State is { Config: { } config, Closed: false })
        {
            ledger.Track(Key, state.State.KvBytes, clock.GetUtcNow().UtcDateTime, footprint.Estimate(config));
            StarKvTelemetry.SessionActivated(Silo);
            _counted = true;
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The chain in the persisted state restores the session without it; no write may outlive the activation.
        await StopFullCheckpointAsync().ConfigureAwait(true);
        ledger.Forget(Key);
        _session?.Dispose();
        _session = null;
        if (_counted)
        {
            StarKvTelemetry.SessionDeactivated(Silo);
            _counted = false;
        }
    }

    public async Task<SessionSnapshot> CreateAsync(SessionConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (state.State.Config is { } existing)
        {
            if (existing == config && !state.State.Closed)
            {
                // The same request again (a client retrying a create whose answer it lost): the open session.
                return Snapshot();
            }

            throw StarKvException.AlreadyExists(state.State.Closed
                ? $"Session '{SessionKey.Parse(Key).Session}' existed and is closed; a session id is used once, choose another."
                : $"Session '{SessionKey.Parse(Key).Session}' already exists with other options; choose another session id.");
        }

        if (!string.Equals(config.ModelId, runtime.ModelId, StringComparison.Ordinal))
        {
            throw StarKvException.FailedPrecondition($"Silo {Silo} serves model '{runtime.ModelId}', not '{config.ModelId}'.");
        }

        try
        {
            _session = runtime.CreateSession(config.ToSessionOptions());
        }
        catch (ArgumentException error)
        {
            // The runtime refused the options (an unknown method, a task too long for the model): nothing was created.
            throw StarKvException.InvalidArgument(ErrorMessages.Plain(error));
        }

        state.State.Config = config;
        state.State.ModelFingerprint = runtime.Fingerprint;
        await state.WriteStateAsync(CancellationToken.None).ConfigureAwait(true);
        ledger.Track(Key, 0, clock.GetUtcNow().UtcDateTime, footprint.Estimate(config));
        if (!_counted)
        {
            StarKvTelemetry.SessionActivated(Silo);
            _counted = true;
        }

        return Snapshot();
    }

    public async Task<StepRecord> StepAsync(StepInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var sessionKey = SessionKey.Parse(Key);
        using var span = StarKvTelemetry.StartGrainStep(new StepTrace(sessionKey.Tenant, sessionKey.Session, input.StepIndex))?.SetTag(StarKvAttributes.Silo, Silo);
        RequireOpen();
        if (input.StepIndex < state.State.StepsTaken)
        {
            var stored = state.State.RecentResults.Find(r => r.StepIndex == input.StepIndex)
                ?? throw StarKvException.InvalidArgument(
                    $"step_index {input.StepIndex} already ran and its result is no longer kept (only the last {TrajectoryState.ResultsKept} are); the next step is {state.State.StepsTaken}.");
            span?.SetTag(StarKvAttributes.Replayed, true);
            return stored with { Replayed = true };
        }

        if (input.StepIndex > state.State.StepsTaken)
        {
            throw StarKvException.InvalidArgument(
                $"step_index {input.StepIndex} leaves a gap: session '{SessionKey.Parse(Key).Session}' has taken {state.State.StepsTaken} steps, so the next step_index is {state.State.StepsTaken}.");
        }

        // The step runs to its end even when the caller gives up (cancellationToken): its retry then replays it.
        var session = await EnsureSessionAsync(CancellationToken.None).ConfigureAwait(true);
        StepOutcome outcome;
        try
        {
            outcome = await Task.Run(() => session.Step(input.Screenshot, input.Instruction, CancellationToken.None)).ConfigureAwait(true);
        }
        catch (Exception error) when (error is ImageDecodeException or InvalidDataException or ArgumentException or NotSupportedException)
        {
            // The runtime refused the input (an undecodable image, an instruction too long); the session itself is intact.
            throw StarKvException.InvalidArgument($"Step {input.StepIndex} refused by the model runtime: {ErrorMessages.Plain(error)}");
        }

        var parse = parser.Parse(outcome);
        var figures = outcome.Figures;
        var record = new StepRecord
        {
            StepIndex = input.StepIndex,
            Text = outcome.Text,
            Action = parse.Action,
            ParseError = parse.Error,
            ScreenshotWidth = outcome.ScreenshotWidth,
            ScreenshotHeight = outcome.ScreenshotHeight,
            Figures = new StepFiguresRecord
            {
                TokensPrefilled = figures.TokensPrefilled,
                TokensDecoded = figures.TokensDecoded,
                SeenTokens = figures.SeenTokens,
                KeptPerLayer = [.. figures.KeptPerLayer],
                KvBytes = figures.KvBytes,
                FullKvBytes = figures.FullKvBytes,
                VisionMs = figures.VisionMs,
                PrefillMs = figures.PrefillMs,
                CompressMs = figures.CompressMs,
                DecodeMs = figures.DecodeMs,
                PreprocessMs = figures.PreprocessMs,
                Silo = Silo,
            },
        };

        var rebased = AdoptFullCheckpoint();
        var started = clock.GetTimestamp();
        CheckpointReference reference;
        bool wroteFull;
        try
        {
            using var checkpointSpan = StarKvTelemetry.StartPhase(StarKvSpanNames.Checkpoint);
            using var capture = session.CaptureCheckpoint(full: state.State.CheckpointReference is null);
            wroteFull = !capture.IsDelta;
            reference = await checkpoints.WriteAsync(Key, input.StepIndex, runtime.Fingerprint, capture, CancellationToken.None).ConfigureAwait(true);
        }
        catch
        {
            // The session took the step but its checkpoint is not durable: a retry must run the step again from the chain.
            _session = null;
            session.Dispose();
            throw;
        }

        var checkpointTime = clock.GetElapsedTime(started);
        StarKvTelemetry.RecordCheckpoint(Silo, CheckpointOperation.Save, reference.Length, checkpointTime);
        record = record with { Figures = record.Figures with { CheckpointMs = checkpointTime.TotalMilliseconds } };

        state.State.StepsTaken = input.StepIndex + 1;
        if (wroteFull)
        {
            state.State.CheckpointReference = reference;
            state.State.CheckpointDeltas.Clear();
            rebased = true;
        }
        else
        {
            state.State.CheckpointDeltas.Add(reference);
        }

        state.State.KvBytes = figures.KvBytes;
        state.State.FullKvBytes = figures.FullKvBytes;
        state.State.SeenTokens = figures.SeenTokens;
        state.State.RecentResults.Add(record);
        if (state.State.RecentResults.Count > TrajectoryState.ResultsKept)
        {
            state.State.RecentResults.RemoveAt(0);
        }

        await state.WriteStateAsync(CancellationToken.None).ConfigureAwait(true);
        if (rebased)
        {
            await checkpoints.PruneAsync(Key, state.State.CheckpointChain(), CancellationToken.None).ConfigureAwait(true);
        }

        StartFullCheckpointIfDue(session, input.StepIndex);
        ledger.Track(Key, figures.KvBytes, clock.GetUtcNow().UtcDateTime, footprint.Estimate(state.State.Config!));
        StarKvTelemetry.RecordStepFigures(Silo, figures.KeptPerLayer, figures.SeenTokens);
        await GrainFactory.GetGrain<ITenantLedgerGrain>(sessionKey.Tenant).ReportKvBytesAsync(sessionKey.Session, figures.KvBytes).ConfigureAwait(true);
        return record;
    }

    public Task<SessionWhereabouts> LocateAsync() => Task.FromResult(new SessionWhereabouts
    {
        Silo = Silo,
        Exists = state.State.Config is not null,
        Closed = state.State.Closed,
        StepsTaken = state.State.StepsTaken,
        RunningCall = _runningCall,
    });

    /// <summary>Notes which caller's call this activation runs (<see cref="TrajectoryCallContext"/>), for <see cref="LocateAsync"/>.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.ImplementationMethod.Name == nameof(LocateAsync) || RequestContext.Get(TrajectoryCallContext.Key) is not string call)
        {
            await context.Invoke().ConfigureAwait(true);
            return;
        }

        _runningCall = call;
        try
        {
            await context.Invoke().ConfigureAwait(true);
        }
        finally
        {
            _runningCall = null;
        }
    }

    public Task<SessionSnapshot> GetAsync(CancellationToken cancellationToken = default)
    {
        if (state.State.Config is null)
        {
            throw NotFound();
        }

        return Task.FromResult(Snapshot());
    }

    public async Task<long> CloseAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        await StopFullCheckpointAsync().ConfigureAwait(true);
        _session?.Dispose();
        _session = null;
        await checkpoints.DeleteAsync(Key, CancellationToken.None).ConfigureAwait(true);
        state.State.Closed = true;
        state.State.CheckpointReference = null;
        state.State.CheckpointDeltas.Clear();
        state.State.KvBytes = 0;
        await state.WriteStateAsync(CancellationToken.None).ConfigureAwait(true);
        ledger.Forget(Key);
        this.DeactivateOnIdle();
        return state.State.StepsTaken;
    }

    public async Task<MigrationTicket> MigrateAsync(string? targetSilo, string? onlyFromSilo = null, string reason = MigrationReasons.Admin)
    {
        var config = RequireOpen();
        if (onlyFromSilo is not null && onlyFromSilo != Silo)
        {
            return new MigrationTicket(Silo, Silo);
        }

        var registry = GrainFactory.GetGrain<ISiloLoadRegistryGrain>(0);
        if (string.IsNullOrEmpty(targetSilo))
        {
            var choice = await registry.ChooseSiloAsync(config.ModelId, excludeSilo: Silo).ConfigureAwait(true);
            targetSilo = choice.Silo ?? throw StarKvException.ResourceExhausted($"Session '{Key}' cannot move off {Silo}: {choice.Reason}.");
        }
        else if (targetSilo == Silo)
        {
            throw StarKvException.InvalidArgument($"target_silo {targetSilo} is where session '{Key}' already runs.");
        }
        else
        {
            var reports = await registry.GetReportsAsync().ConfigureAwait(true);
            var target = reports.FirstOrDefault(r => r.Silo == targetSilo)
                ?? throw StarKvException.NotFound($"target_silo {targetSilo} is not a live silo (known: {string.Join(", ", reports.Select(r => r.Silo))}).");
            if (target.ModelId != config.ModelId)
            {
                throw StarKvException.FailedPrecondition($"target_silo {targetSilo} serves model '{target.ModelId}', session '{Key}' runs '{config.ModelId}'.");
            }
        }

        RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(targetSilo));
        try
        {
            this.MigrateOnIdle();
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }

        LogMigrating(logger, Key, Silo, targetSilo);
        StarKvTelemetry.RecordMigration(Silo, reason);
        return new MigrationTicket(Silo, targetSilo);
    }

    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        ArgumentNullException.ThrowIfNull(dehydrationContext);
        // The persisted state travels too (its storage bridge takes part in migration); the silo is for the log.
        dehydrationContext.TryAddValue(MigratedCheckpointKey, Silo);
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        ArgumentNullException.ThrowIfNull(rehydrationContext);
        if (rehydrationContext.TryGetValue(MigratedCheckpointKey, out string? from))
        {
            _migratedFrom = from;
        }
    }

    private async Task<IAgentSession> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        if (_session is not null)
        {
            return _session;
        }

        var config = state.State.Config!;
        if (state.State.CheckpointReference is not { } reference)
        {
            _session = runtime.CreateSession(config.ToSessionOptions());
            return _session;
        }

        if (reference.ModelFingerprint != runtime.Fingerprint)
        {
            throw StarKvException.FailedPrecondition(
                $"Session '{Key}' was checkpointed on model fingerprint {reference.ModelFingerprint}; silo {Silo} runs '{runtime.ModelId}' with fingerprint {runtime.Fingerprint}.");
        }

        try
        {
            var started = clock.GetTimestamp();
            var (payloads, bytes) = await checkpoints.ReadChainAsync(state.State.CheckpointChain(), runtime.Fingerprint, cancellationToken).ConfigureAwait(true);
            _session = await Task.Run(() => runtime.RestoreSession(payloads), cancellationToken).ConfigureAwait(true);
            StarKvTelemetry.RecordCheckpoint(Silo, CheckpointOperation.Restore, bytes, clock.GetElapsedTime(started));
        }
        catch (Exception error) when (error is CheckpointFormatException or CheckpointStoreException or SessionCheckpointException or InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw StarKvException.FailedPrecondition($"Checkpoint {reference.BlobName} (and {state.State.CheckpointDeltas.Count} deltas) of session '{Key}' cannot be restored on silo {Silo}: {error.Message}", error);
        }

        if (_session.StepsTaken != state.State.StepsTaken)
        {
            LogStepsMismatch(logger, Key, _session.StepsTaken, state.State.StepsTaken);
        }

        return _session;
    }

    /// <summary>Starts writing the whole session in the background once the chain holds enough deltas.</summary>
    private void StartFullCheckpointIfDue(IAgentSession session, long stepIndex)
    {
        if (_full is not null || state.State.CheckpointDeltas.Count < checkpoints.FullEvery)
        {
            return;
        }

        var cancel = new CancellationTokenSource();
        var capture = session.CaptureCheckpoint(full: true); // views of the cache, taken between steps
        _full = new BackgroundFullCheckpoint(stepIndex, checkpoints.WriteInBackground(Key, stepIndex, runtime.Fingerprint, capture, cancel.Token), cancel);
    }

    /// <summary>
    /// When a background full checkpoint has become durable, makes the chain start from it (deltas after its step stay);
    /// true when the chain changed, to be pruned once the state naming it is written.
    /// </summary>
    private bool AdoptFullCheckpoint()
    {
        if (_full is not { Write.IsCompleted: true } full)
        {
            return false;
        }

        _full = null;
        full.Cancel.Dispose();
        if (!full.Write.IsCompletedSuccessfully)
        {
            LogFullCheckpointFailed(logger, full.Write.Exception?.GetBaseException(), Key, full.StepIndex);
            return false;
        }

        state.State.CheckpointReference = full.Write.Result;
        state.State.CheckpointDeltas.RemoveAll(d => d.StepIndex <= full.StepIndex);
        return true;
    }

    private async Task StopFullCheckpointAsync()
    {
        if (_full is not { } full)
        {
            return;
        }

        _full = null;
        await full.Cancel.CancelAsync().ConfigureAwait(true);
        try
        {
            await full.Write.ConfigureAwait(true);
        }
        catch (Exception error) when (error is OperationCanceledException or CheckpointStoreException or IOException)
        {
            // Nothing depended on it.
        }
        finally
        {
            full.Cancel.Dispose();
        }
    }

    private SessionConfig RequireOpen()
    {
        var config = state.State.Config ?? throw NotFound();
        if (state.State.Closed)
        {
            throw StarKvException.FailedPrecondition($"Session '{SessionKey.Parse(Key).Session}' is closed.");
        }

        return config;
    }

    private StarKvException NotFound() => StarKvException.NotFound($"Session '{SessionKey.Parse(Key).Session}' does not exist.");

    private SessionSnapshot Snapshot() => new()
    {
        Key = Key,
        Config = state.State.Config!,
        StepsTaken = state.State.StepsTaken,
        KvBytes = state.State.KvBytes,
        FullKvBytes = state.State.FullKvBytes,
        SeenTokens = state.State.SeenTokens,
        Silo = Silo,
        Closed = state.State.Closed,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {Key} restored from checkpoint {Reference} on silo {Silo} after migration")]
    private static partial void LogRehydrated(ILogger logger, string key, string reference, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Key} could not be restored after migration")]
    private static partial void LogRestoreFailed(ILogger logger, Exception error, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {Key} migrating from {From} to {To}")]
    private static partial void LogMigrating(ILogger logger, string key, string from, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Key}: the background full checkpoint after step {Step} failed; the chain stays as it was")]
    private static partial void LogFullCheckpointFailed(ILogger logger, Exception? error, string key, long step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Key} restored with {Restored} steps taken, its state says {Recorded}")]
    private static partial void LogStepsMismatch(ILogger logger, string key, int restored, long recorded);

    /// <summary>A full checkpoint being written in the background after step <paramref name="StepIndex"/>.</summary>
    private sealed record BackgroundFullCheckpoint(long StepIndex, Task<CheckpointReference> Write, CancellationTokenSource Cancel);
}
