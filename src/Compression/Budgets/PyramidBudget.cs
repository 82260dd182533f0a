namespace StarKv.Compression.Budgets;

/// <summary>
/// PyramidKV's per-layer budgets: with the uniform budget's past share B = keep − W, layer l of N keeps
/// <c>W + max(1, floor(B_max − l·(B_max − B_min)/(N − 1)))</c>, <c>B_min = floor(B/β)</c>, <c>B_max = 2B − B_min</c>,
/// a straight line from B_max at the first layer to B_min at the last. The real-valued slope (PyramidKV's code
/// rounds the step down) keeps the sum over layers at most N·B, the uniform total.
/// </summary>
public static class PyramidBudget
{
    /// <summary>PyramidKV's β: the last layer keeps 1/β of the mean past budget.</summary>
    public const int DefaultBeta = 20;

    public static long LayerKeep(long uniformKeep, int window, int layerIndex, int layerCount, int beta = DefaultBeta)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(beta);
        if (layerIndex < 0 || layerIndex >= layerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, $"Layer index must be in [0, {layerCount}).");
        }

        var past = uniformKeep - window;
        if (layerCount == 1)
        {
            return uniformKeep;
        }

        var min = past / beta;
        var max = (2 * past) - min;
        var slope = (double)(max - min) / (layerCount - 1);
        var layerPast = (long)Math.Floor(max - (layerIndex * slope));
        return window + Math.Max(1L, layerPast);
    }
}
