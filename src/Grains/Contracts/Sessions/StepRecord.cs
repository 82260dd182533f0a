namespace StarKv.Grains.Sessions;

/// <summary>The parsed action of a step, coordinates in pixels of the original screenshot.</summary>
[GenerateSerializer, Immutable]
public sealed record ParsedStepAction
{
    /// <summary>The action's name as the model wrote it, for example "click" or "drag".</summary>
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public double? X { get; init; }
    [Id(2)] public double? Y { get; init; }
    [Id(3)] public double? EndX { get; init; }
    [Id(4)] public double? EndY { get; init; }

    /// <summary>Typed content, hotkey keys, scroll direction, app name or finished content.</summary>
    [Id(5)] public string? Text { get; init; }
    [Id(6)] public string? Thought { get; init; }
}

/// <summary>The step's figures as stored and returned (the model runtime's <c>StepFigures</c> plus the silo).</summary>
[GenerateSerializer, Immutable]
public sealed record StepFiguresRecord
{
    [Id(0)] public int TokensPrefilled { get; init; }
    [Id(1)] public int TokensDecoded { get; init; }
    [Id(2)] public long SeenTokens { get; init; }
    [Id(3)] public long[] KeptPerLayer { get; init; } = [];
    [Id(4)] public long KvBytes { get; init; }
    [Id(5)] public long FullKvBytes { get; init; }
    [Id(6)] public double VisionMs { get; init; }
    [Id(7)] public double PrefillMs { get; init; }
    [Id(8)] public double CompressMs { get; init; }
    [Id(9)] public double DecodeMs { get; init; }
    [Id(10)] public string Silo { get; init; } = "";

    /// <summary>Screenshot decode, resize and normalisation, before the runtime's lock.</summary>
    [Id(11)] public double PreprocessMs { get; init; }

    /// <summary>Writing the step's checkpoint (what the step changed) until it was durable; the answer waits for it.</summary>
    [Id(12)] public double CheckpointMs { get; init; }
}

/// <summary>The stored result of one step: replaying its index returns this record with <see cref="Replayed"/> set.</summary>
[GenerateSerializer, Immutable]
public sealed record StepRecord
{
    [Id(0)] public required long StepIndex { get; init; }
    [Id(1)] public required string Text { get; init; }
    [Id(2)] public ParsedStepAction? Action { get; init; }
    [Id(3)] public string? ParseError { get; init; }
    [Id(4)] public required StepFiguresRecord Figures { get; init; }
    [Id(5)] public bool Replayed { get; init; }
    [Id(6)] public int ScreenshotWidth { get; init; }
    [Id(7)] public int ScreenshotHeight { get; init; }
}
