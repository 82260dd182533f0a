namespace StarKv.Telemetry;

/// <summary>
/// Span names of one agent step. The gateway's <see cref="Step"/> span parents the grain's
/// <see cref="GrainStep"/>, which parents one span per phase of the model runtime.
/// </summary>
public static class StarKvSpanNames
{
    public const string Step = "step";
    public const string GrainStep = "grain.step";

    /// <summary>Screenshot decode, resize and normalisation, before the runtime's lock.</summary>
    public const string Preprocess = "preprocess";
    public const string Vision = "vision";
    public const string Prefill = "prefill";
    public const string Compress = "compress";
    public const string Decode = "decode";

    /// <summary>Writing the step's checkpoint (the delta the answer waits for, or a background full snapshot).</summary>
    public const string Checkpoint = "checkpoint";
}

/// <summary>
/// Attribute names on spans, and tag names on measurements. Spans carry identifiers and counts only, never
/// screenshot bytes or instruction text.
/// </summary>
public static class StarKvAttributes
{
    public const string Session = "starkv.session";
    public const string Tenant = "starkv.tenant";
    public const string Step = "starkv.step";

    /// <summary>On a compress span: the decoder layer compressed.</summary>
    public const string Layer = "starkv.layer";

    /// <summary>On a step span: the answer is the stored result of a step index that had already run.</summary>
    public const string Replayed = "starkv.replayed";

    /// <summary>On a prefill span: the tokens this turn prefilled.</summary>
    public const string Tokens = "starkv.tokens";

    /// <summary>On the gateway's step span: the size of the screenshot (its bytes never go into a span).</summary>
    public const string ScreenshotBytes = "starkv.screenshot.bytes";

    /// <summary>The silo (its Orleans address or pod name) a measurement belongs to.</summary>
    public const string Silo = "silo";

    /// <summary>Why a session moved: see <see cref="MigrationReasons"/>.</summary>
    public const string MigrationReason = "reason";

    /// <summary>Whether a checkpoint was written or read: <c>save</c> or <c>restore</c>.</summary>
    public const string CheckpointOperation = "operation";
}

/// <summary>Instrument names of the <c>StarKv</c> meter.</summary>
public static class StarKvInstruments
{
    /// <summary>UpDownCounter: sessions currently active on a silo (tag <c>silo</c>).</summary>
    public const string ActiveSessions = "starkv.sessions.active";

    /// <summary>ObservableGauge, bytes: KV cache bytes held on a silo (tag <c>silo</c>).</summary>
    public const string KvBytes = "starkv.kv.bytes";

    /// <summary>Histogram, ratio 0..1: entries kept after compression over tokens seen (tag <c>silo</c>).</summary>
    public const string CompressionRatio = "starkv.compression.ratio";

    /// <summary>Histogram, milliseconds: one whole step as the gateway saw it (tag <c>starkv.tenant</c>).</summary>
    public const string StepLatency = "starkv.step.duration";

    /// <summary>Counter: sessions moved off a silo (tags <c>silo</c>, <c>reason</c>).</summary>
    public const string Migrations = "starkv.migrations";

    /// <summary>Histogram, bytes: size of one checkpoint (tags <c>silo</c>, <c>operation</c>).</summary>
    public const string CheckpointSize = "starkv.checkpoint.size";

    /// <summary>Histogram, milliseconds: time to write or read one checkpoint (tags <c>silo</c>, <c>operation</c>).</summary>
    public const string CheckpointDuration = "starkv.checkpoint.duration";
}

/// <summary>Values of the <c>reason</c> tag on <see cref="StarKvInstruments.Migrations"/>.</summary>
public static class MigrationReasons
{
    public const string Admin = "admin";
    public const string Drain = "drain";
    public const string MemoryPressure = "memory-pressure";
}
