using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StarKv.Telemetry;

/// <summary>
/// The cluster's traces and metrics, on <see cref="System.Diagnostics"/> alone: one <see cref="ActivitySource"/>
/// and one <see cref="Meter"/>, both named <see cref="Name"/>. Exporters are the programs' business (they
/// subscribe to that name); without a listener every call here is close to free.
/// </summary>
/// <remarks>
/// A step's trace: the gateway opens <see cref="StartStep"/>, the grain <see cref="StartGrainStep"/>, the
/// session one span per phase (<see cref="StartPreprocess"/>, <see cref="StartVision"/>, <see cref="StartPrefill"/>,
/// <see cref="StartCompress"/>, <see cref="StartDecode"/>). Each returns <c>null</c> when nobody listens;
/// dispose the result (<c>using var span = ...</c>) to end the span. Parenting follows
/// <see cref="Activity.Current"/>, across the Orleans call when the programs turn on activity propagation.
/// </remarks>
public static class StarKvTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "StarKv";

    private static readonly ConcurrentDictionary<string, long> SiloKvBytes = new(StringComparer.Ordinal);

    // Static members initialize in textual order: the meter first, the instruments made from it after.
    /// <summary>Spans of the cluster; listeners subscribe to <see cref="Name"/>.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    /// <summary>Instruments of the cluster; listeners subscribe to <see cref="Name"/>.</summary>
    public static Meter Meter { get; } = CreateMeter();

    private static readonly UpDownCounter<long> ActiveSessions = Meter.CreateUpDownCounter<long>(
        StarKvInstruments.ActiveSessions, unit: "{session}", description: "Sessions active on a silo.");

    private static readonly Histogram<double> CompressionRatio = Meter.CreateHistogram(
        StarKvInstruments.CompressionRatio, unit: "1", description: "KV entries kept after compression over tokens seen.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] });

    private static readonly Histogram<double> StepLatency = Meter.CreateHistogram<double>(
        StarKvInstruments.StepLatency, unit: "ms", description: "One agent step, from the gateway's request to its answer.");

    private static readonly Counter<long> Migrations = Meter.CreateCounter<long>(
        StarKvInstruments.Migrations, unit: "{session}", description: "Sessions migrated off a silo.");

    private static readonly Histogram<long> CheckpointSize = Meter.CreateHistogram(
        StarKvInstruments.CheckpointSize, unit: "By", description: "Bytes of one session checkpoint (state and KV blob).",
        tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1L << 16, 1L << 20, 1L << 22, 1L << 24, 1L << 26, 1L << 28, 1L << 30, 1L << 32] });

    private static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram<double>(
        StarKvInstruments.CheckpointDuration, unit: "ms", description: "Time to write or read one session checkpoint.");

    /// <summary>The gateway's span around one whole step (server side of the gRPC call).</summary>
    public static Activity? StartStep(StepTrace trace) => Start(StarKvSpanNames.Step, ActivityKind.Server, trace);

    /// <summary>The trajectory grain's span around one step on its silo.</summary>
    public static Activity? StartGrainStep(StepTrace trace) => Start(StarKvSpanNames.GrainStep, ActivityKind.Internal, trace);

    /// <summary>The screenshot's decode, resize and normalisation, before the runtime's lock.</summary>
    public static Activity? StartPreprocess(StepTrace trace) => Start(StarKvSpanNames.Preprocess, ActivityKind.Internal, trace);

    /// <summary>The vision encoder's span.</summary>
    public static Activity? StartVision(StepTrace trace) => Start(StarKvSpanNames.Vision, ActivityKind.Internal, trace);

    /// <summary>The prefill of this turn's tokens on top of the retained cache.</summary>
    public static Activity? StartPrefill(StepTrace trace) => Start(StarKvSpanNames.Prefill, ActivityKind.Internal, trace);

    /// <summary>The per-layer compression of the cache.</summary>
    public static Activity? StartCompress(StepTrace trace) => Start(StarKvSpanNames.Compress, ActivityKind.Internal, trace);

    /// <summary>The greedy decode of the action.</summary>
    public static Activity? StartDecode(StepTrace trace) => Start(StarKvSpanNames.Decode, ActivityKind.Internal, trace);

    /// <summary>
    /// A phase span (<see cref="StarKvSpanNames.Vision"/>, <see cref="StarKvSpanNames.Prefill"/>,
    /// <see cref="StarKvSpanNames.Compress"/>, <see cref="StarKvSpanNames.Decode"/>) for code that does not know who the
    /// step belongs to (the model runtime): it parents to <see cref="Activity.Current"/> and copies the tenant, session and
    /// step attributes of the enclosing step span. <c>null</c> when nobody listens.
    /// </summary>
    public static Activity? StartPhase(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var parent = Activity.Current;
        var activity = ActivitySource.StartActivity(name, ActivityKind.Internal);
        if (activity is not null && parent is not null)
        {
            foreach (var tag in new[] { StarKvAttributes.Tenant, StarKvAttributes.Session, StarKvAttributes.Step })
            {
                if (parent.GetTagItem(tag) is { } value)
                {
                    activity.SetTag(tag, value);
                }
            }
        }

        return activity;
    }

    /// <summary>A session became active on <paramref name="silo"/> (activation, creation or rehydration).</summary>
    public static void SessionActivated(string silo) => ActiveSessions.Add(1, SiloTag(silo));

    /// <summary>A session left <paramref name="silo"/> (deactivation, end, or migration away).</summary>
    public static void SessionDeactivated(string silo) => ActiveSessions.Add(-1, SiloTag(silo));

    /// <summary>
    /// Sets the KV cache bytes a silo holds now (the sum over its sessions); the gauge reports the latest value
    /// per silo at each collection.
    /// </summary>
    public static void SetKvBytes(string silo, long bytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        SiloKvBytes[silo] = bytes;
    }

    /// <summary>Stops reporting KV bytes for a silo (it shut down).</summary>
    public static void ForgetSilo(string silo)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        SiloKvBytes.TryRemove(silo, out _);
    }

    /// <summary>Records kept ÷ seen for one compression: entries kept per KV head over tokens seen so far.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Seen is not positive, or kept is negative or above seen.</exception>
    public static void RecordCompression(string silo, double kept, long seen)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seen);
        if (kept < 0 || kept > seen || double.IsNaN(kept))
        {
            throw new ArgumentOutOfRangeException(nameof(kept), kept, $"Kept entries must lie in [0, seen = {seen}].");
        }

        CompressionRatio.Record(kept / seen, SiloTag(silo));
    }

    /// <summary>
    /// Records a step's compression ratio from its figures: the mean of the entries kept per layer over the
    /// tokens seen. A step with nothing seen yet records nothing.
    /// </summary>
    public static void RecordStepFigures(string silo, IReadOnlyList<long> keptPerLayer, long seenTokens)
    {
        ArgumentNullException.ThrowIfNull(keptPerLayer);
        if (seenTokens <= 0 || keptPerLayer.Count == 0)
        {
            return;
        }

        RecordCompression(silo, keptPerLayer.Average(k => (double)k), seenTokens);
    }

    /// <summary>Records one step's latency as the gateway measured it.</summary>
    public static void RecordStepLatency(string tenant, TimeSpan elapsed)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentOutOfRangeException.ThrowIfLessThan(elapsed, TimeSpan.Zero);
        StepLatency.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>(StarKvAttributes.Tenant, tenant));
    }

    /// <summary>Counts one session migrated off <paramref name="silo"/>; <paramref name="reason"/> is one of <see cref="MigrationReasons"/>.</summary>
    public static void RecordMigration(string silo, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Migrations.Add(1, SiloTag(silo), new KeyValuePair<string, object?>(StarKvAttributes.MigrationReason, reason));
    }

    /// <summary>Records one checkpoint's size and the time it took to write or read.</summary>
    public static void RecordCheckpoint(string silo, CheckpointOperation operation, long bytes, TimeSpan elapsed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(elapsed, TimeSpan.Zero);
        var tags = new[]
        {
            SiloTag(silo),
            new KeyValuePair<string, object?>(StarKvAttributes.CheckpointOperation, operation == CheckpointOperation.Save ? "save" : "restore"),
        };
        CheckpointSize.Record(bytes, tags);
        CheckpointDuration.Record(elapsed.TotalMilliseconds, tags);
    }

    private static Meter CreateMeter()
    {
        var meter = new Meter(Name);
        meter.CreateObservableGauge(StarKvInstruments.KvBytes, ObserveKvBytes, unit: "By", description: "KV cache bytes held on a silo.");
        return meter;
    }

    private static IEnumerable<Measurement<long>> ObserveKvBytes() =>
        SiloKvBytes.Select(pair => new Measurement<long>(pair.Value, new KeyValuePair<string, object?>(StarKvAttributes.Silo, pair.Key)));

    private static Activity? Start(string name, ActivityKind kind, StepTrace trace)
    {
        if (trace.Session is null)
        {
            throw new ArgumentException("The step trace is empty (default); build it with tenant, session and step.", nameof(trace));
        }

        var activity = ActivitySource.StartActivity(name, kind);
        activity?.SetTag(StarKvAttributes.Tenant, trace.Tenant)
            .SetTag(StarKvAttributes.Session, trace.Session)
            .SetTag(StarKvAttributes.Step, trace.Step);
        return activity;
    }

    private static KeyValuePair<string, object?> SiloTag(string silo)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        return new KeyValuePair<string, object?>(StarKvAttributes.Silo, silo);
    }
}
