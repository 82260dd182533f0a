namespace StarKv.Eval.Core.Runner;

/// <summary>One graded step as results.json and the resume file hold it.</summary>
public sealed record StepRecord
{
    public required int Index { get; init; }

    public required string StepId { get; init; }

    public string Category { get; init; } = "";

    /// <summary>The model's raw reply.</summary>
    public required string Prediction { get; init; }

    /// <summary>The first parsed action with its point in original pixels, or the parse error.</summary>
    public required string Action { get; init; }

    /// <summary>The first action's point in original-screenshot pixels, when it has one.</summary>
    public double? X { get; init; }

    public double? Y { get; init; }

    /// <summary>The grader's score in [0, 1].</summary>
    public required double Score { get; init; }

    public required bool Correct { get; init; }

    public required string Note { get; init; }

    /// <summary>KV bytes the session held after the step.</summary>
    public required long KvBytes { get; init; }

    /// <summary>KV bytes an uncompressed cache of the same tokens would hold.</summary>
    public required long FullKvBytes { get; init; }

    /// <summary>Wall time of the step (vision, prefill with compression, decode), milliseconds.</summary>
    public required double StepMs { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    public required int ResizedWidth { get; init; }

    public required int ResizedHeight { get; init; }

    public int TokensPrefilled { get; init; }

    public int TokensDecoded { get; init; }
}

/// <summary>One episode (agent session) run under one configuration.</summary>
public sealed record EpisodeRecord
{
    /// <summary>The configuration key, <c>mode/method/budget</c>.</summary>
    public required string Config { get; init; }

    public required string Mode { get; init; }

    public required string Method { get; init; }

    /// <summary>The budget as a fraction of the tokens seen (1 for the full cache).</summary>
    public required double Budget { get; init; }

    public required string EpisodeId { get; init; }

    public required IReadOnlyDictionary<string, string> Tags { get; init; }

    public required IReadOnlyList<StepRecord> Steps { get; init; }

    public string Tag(string name) => Tags.TryGetValue(name, out var value) ? value : "";
}
