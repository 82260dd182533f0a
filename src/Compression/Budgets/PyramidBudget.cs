namespace StarKv.Compression.Budgets;

/// <summary>
/// PyramidKV's per-layer budgets: with the uniform budget's past share B = keep − W (at least 1), layer l of N keeps
/// <c>W + ⌊B_max − l·(B_max − B_min)/(N − 1)⌋</c>, <c>B_min = max(1, ⌊B/β⌋)</c>, <c>B_max = 2B − B_min</c>: a straight
/// line from B_max at the first layer to B_min at the last whose mean is B, computed in integers
/// (<c>B_max − ⌈l·(B_max − B_min)/(N − 1)⌉</c>).
/// </summary>
/// <remarks>
/// <para>No layer can hold more than the C = L_seen − W past tokens the session has seen; as in PyramidKV's code, when
/// B_max exceeds C the line is capped there and lifted at the other end, <c>B_max = C</c>, <c>B_min = 2B − C</c>, so that
/// the budget is not spent where it cannot be used (a 100 % budget keeps everything in every layer). When B ≥ C every
/// cache fits the uniform budget and every layer gets it.</para>
/// <para>Every layer keeps at least W + 1, and the layers' budgets never sum above N·(W + B), the uniform total: the
/// line's mean is B and each layer's share is rounded down. (PyramidKV's code rounds the step down instead and gives
/// a layer whose share reaches 0 one entry anyway, which can go over the total at small budgets.)</para>
/// </remarks>
public static class PyramidBudget
{
    /// <summary>PyramidKV's β: the last layer keeps 1/β of the mean past budget.</summary>
    public const int DefaultBeta = 20;

    /// <param name="uniformKeep">The uniform per-layer keep, W + B.</param>
    /// <param name="window">W.</param>
    /// <param name="layerIndex">l.</param>
    /// <param name="layerCount">N.</param>
    /// <param name="seenTokens">L_seen, every token the session has prefilled.</param>
    /// <param name="beta">β.</param>
    public static long LayerKeep(long uniformKeep, int window, int layerIndex, int layerCount, long seenTokens, int beta = DefaultBeta)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(beta);
        ArgumentOutOfRangeException.ThrowIfNegative(window);
        ArgumentOutOfRangeException.ThrowIfNegative(seenTokens);
        if (layerIndex < 0 || layerIndex >= layerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, $"Layer index must be in [0, {layerCount}).");
        }

        if (uniformKeep <= window)
        {
            throw new ArgumentOutOfRangeException(nameof(uniformKeep), uniformKeep, $"The uniform keep must exceed the window ({window}).");
        }

        var past = uniformKeep - window;
        var seenPast = seenTokens - window;
        if (layerCount == 1 || past >= seenPast)
        {
            return uniformKeep;
        }

        var min = Math.Max(1L, past / beta);
        var max = (2 * past) - min;
        if (max > seenPast)
        {
            (max, min) = (seenPast, (2 * past) - seenPast);
        }

        var drop = ((layerIndex * (max - min)) + layerCount - 2) / (layerCount - 1); // ⌈l·(max − min)/(N − 1)⌉
        return window + max - drop;
    }
}
