namespace StarKv.Grains.Placement;

/// <summary>
/// The request-context keys under which a caller creating a session names its model and budget (read by placement, which
/// estimates the session's KV bytes from them before it holds any).
/// </summary>
public static class ModelContext
{
    public const string Key = "starkv.model";
    public const string BudgetRatioKey = "starkv.budget.ratio";
    public const string BudgetTokensKey = "starkv.budget.tokens";

    /// <summary>Names the model and budget of the session the next grain call creates.</summary>
    public static void Set(string modelId, double budgetRatio, int? budgetTokens)
    {
        RequestContext.Set(Key, modelId);
        RequestContext.Set(BudgetRatioKey, budgetRatio);
        if (budgetTokens is { } tokens)
        {
            RequestContext.Set(BudgetTokensKey, tokens);
        }
        else
        {
            RequestContext.Remove(BudgetTokensKey);
        }
    }

    public static void Clear()
    {
        RequestContext.Remove(Key);
        RequestContext.Remove(BudgetRatioKey);
        RequestContext.Remove(BudgetTokensKey);
    }
}

/// <summary>
/// What a session is expected to hold in KV bytes before it has stepped: the tokens its budget keeps of the
/// <c>expectedTokens</c> it is expected to see (<c>StarKv:Capacity:ExpectedSessionTokens</c>), times the model's KV bytes
/// per token. A ratio budget keeps that fraction of them, a token budget at most that many.
/// </summary>
public static class SessionFootprint
{
    public static long EstimateBytes(double budgetRatio, int? budgetTokens, long kvBytesPerToken, long expectedTokens)
    {
        var tokens = budgetTokens is { } fixedTokens
            ? Math.Min(fixedTokens, expectedTokens)
            : (long)Math.Ceiling(Math.Clamp(double.IsNaN(budgetRatio) ? 1 : budgetRatio, 0, 1) * expectedTokens);
        return Math.Max(0, tokens) * Math.Max(0, kvBytesPerToken);
    }
}
