namespace StarKv.Compression.Api;

/// <summary>
/// How many entries a layer may keep. A ratio budget keeps <c>max(W + 1, floor(ratio · seenTokens))</c>;
/// an absolute budget keeps <c>max(W + 1, maxTokens)</c>. The W window entries count inside the budget.
/// </summary>
public sealed record KvBudget
{
    private KvBudget(double? ratio, int? maxTokens)
    {
        Ratio = ratio;
        MaxTokens = maxTokens;
    }

    /// <summary>The fraction of the tokens seen, in (0, 1]; null for an absolute budget.</summary>
    public double? Ratio { get; }

    /// <summary>The absolute cap in tokens; null for a ratio budget.</summary>
    public int? MaxTokens { get; }

    public static KvBudget FromRatio(double ratio)
    {
        if (double.IsNaN(ratio) || ratio <= 0 || ratio > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "A KV budget ratio must be in (0, 1].");
        }

        return new KvBudget(ratio, null);
    }

    public static KvBudget FromTokens(int maxTokens)
    {
        if (maxTokens <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "A KV budget in tokens must be positive.");
        }

        return new KvBudget(null, maxTokens);
    }

    /// <summary>The number of entries to keep for a cache that has seen <paramref name="seenTokens"/> tokens.</summary>
    public long KeepCount(long seenTokens, int window)
    {
        var target = Ratio is { } ratio ? (long)Math.Floor(ratio * seenTokens) : MaxTokens!.Value;
        return Math.Max(window + 1L, target);
    }

    public override string ToString() => Ratio is { } r ? $"{r:P0}" : $"{MaxTokens} tokens";
}
