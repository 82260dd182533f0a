namespace StarKv.GpuWorker.Sessions;

/// <summary>What a client chooses when it opens an agent session.</summary>
public sealed record SessionOptions
{
    /// <summary>The compression method's registered name (see the compressor factory), for example "starkv".</summary>
    public string Method { get; init; } = "starkv";

    /// <summary>The KV budget as a fraction of the tokens seen, in (0, 1]. Ignored when <see cref="BudgetTokens"/> is set.</summary>
    public double BudgetRatio { get; init; } = 0.2;

    /// <summary>An absolute KV budget in tokens per layer and head, instead of a ratio.</summary>
    public int? BudgetTokens { get; init; }

    public SessionMode Mode { get; init; } = SessionMode.RetainedCache;

    /// <summary>The most tokens one step may decode before it stops without <c>&lt;|im_end|&gt;</c>.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>In <see cref="SessionMode.ReprefillHistory"/>, how many of the latest screenshots are re-sent.</summary>
    public int HistoryScreenshots { get; init; } = 5;

    /// <summary>The agent's task, placed in the first user turn.</summary>
    public string Task { get; init; } = "";

    /// <summary>Seed of the methods that draw random numbers.</summary>
    public int Seed { get; init; }
}
