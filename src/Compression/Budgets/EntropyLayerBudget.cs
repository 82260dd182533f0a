namespace StarKv.Compression.Budgets;

/// <summary>
/// STaR-KV Adaptive's split of a turn's total budget across layers, from each layer's normalised entropy Ĥ_l
/// at its previous compression (layers run in order after prefill, so the current turn's entropies of later
/// layers are not known when an earlier layer is compressed). With N layers, uniform keep k and window W:
/// <c>e_l = exp(Ĥ_l / T_l)</c>, <c>T_l = T_min + (T_max − T_min)·Ĥ_l</c>, and the spare
/// <c>N·k − N·(W + 1)</c> is split in proportion to e_l by largest remainder (ties to the lower layer), so
/// <c>keep_l = W + 1 + share_l</c> and Σ keep_l = N·k exactly. Layers whose attention is flatter keep more.
/// Without an entropy for every layer (the first compressed turn) every layer keeps k.
/// </summary>
public static class EntropyLayerBudget
{
    /// <param name="uniformKeep">k, the uniform per-layer keep.</param>
    /// <param name="window">W.</param>
    /// <param name="entropies">Ĥ_l of every layer at its previous compression; NaN where unknown.</param>
    /// <param name="minTemperature">T_min.</param>
    /// <param name="maxTemperature">T_max.</param>
    /// <returns>keep_l for every layer.</returns>
    public static long[] Split(long uniformKeep, int window, IReadOnlyList<double> entropies, double minTemperature = 0.75, double maxTemperature = 1.25)
    {
        ArgumentNullException.ThrowIfNull(entropies);
        var n = entropies.Count;
        var keep = new long[n];
        if (n == 0)
        {
            return keep;
        }

        if (entropies.Any(double.IsNaN) || uniformKeep <= window + 1)
        {
            Array.Fill(keep, uniformKeep);
            return keep;
        }

        var weights = entropies
            .Select(h => Math.Exp(h / (minTemperature + ((maxTemperature - minTemperature) * h))))
            .ToArray();
        var total = weights.Sum();
        var spare = n * (uniformKeep - window - 1);
        var remainders = new double[n];
        var given = 0L;
        for (var l = 0; l < n; l++)
        {
            var exact = spare * weights[l] / total;
            var floor = (long)Math.Floor(exact);
            keep[l] = window + 1 + floor;
            remainders[l] = exact - floor;
            given += floor;
        }

        var order = Enumerable.Range(0, n).OrderByDescending(l => remainders[l]).ThenBy(l => l).ToArray();
        for (var i = 0; i < spare - given; i++)
        {
            keep[order[i % n]]++;
        }

        return keep;
    }
}
