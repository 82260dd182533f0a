namespace StarKv.Grains.Sessions;

/// <summary>What a session was created with: the model it runs on and the runtime's session options.</summary>
[GenerateSerializer, Immutable]
public sealed record SessionConfig
{
    [Id(0)] public required string ModelId { get; init; }
    [Id(1)] public string Method { get; init; } = "starkv";
    [Id(2)] public double BudgetRatio { get; init; } = 0.2;
    [Id(3)] public int? BudgetTokens { get; init; }
    [Id(4)] public SessionMode Mode { get; init; } = SessionMode.RetainedCache;
    [Id(5)] public int MaxNewTokens { get; init; } = 64;
    [Id(6)] public int HistoryScreenshots { get; init; } = 5;
    [Id(7)] public string Task { get; init; } = "";
    [Id(8)] public int Seed { get; init; }

    /// <summary>Refuses values the runtime cannot serve, naming the field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelId))
        {
            throw Errors.StarKvException.InvalidArgument("model must name a model id, for example 'tiny'.");
        }

        if (string.IsNullOrWhiteSpace(Method))
        {
            throw Errors.StarKvException.InvalidArgument("method must name a compression method, for example 'starkv'.");
        }

        if (BudgetTokens is { } tokens ? tokens <= 0 : !(BudgetRatio > 0 && BudgetRatio <= 1))
        {
            throw Errors.StarKvException.InvalidArgument(BudgetTokens is { } t
                ? $"budget.tokens must be positive; it is {t}."
                : $"budget.ratio must be in (0, 1]; it is {BudgetRatio}.");
        }

        if (MaxNewTokens is <= 0 or > 4096)
        {
            throw Errors.StarKvException.InvalidArgument($"options.max_new_tokens must be in 1..4096; it is {MaxNewTokens}.");
        }

        if (HistoryScreenshots is <= 0 or > 64)
        {
            throw Errors.StarKvException.InvalidArgument($"options.history_screenshots must be in 1..64; it is {HistoryScreenshots}.");
        }
    }
}
