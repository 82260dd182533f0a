namespace StarKv.Compression.StarKv;

/// <summary>
/// STaR-KV part (iii): a temperature from how spread out attention is. For non-negative weights over P
/// entries, <c>p = w/Σw</c>, <c>Ĥ = H(p)/log P</c> in [0, 1] (0 when P ≤ 1 or Σw = 0), and
/// <c>T = T_min + (T_max − T_min)·Ĥ</c>. Flat attention (Ĥ near 1) gets T above 1, which flattens further;
/// peaked attention gets T below 1, which sharpens.
/// </summary>
public static class EntropyTemperature
{
    public const double DefaultMinTemperature = 0.75;

    public const double DefaultMaxTemperature = 1.25;

    public static double NormalisedEntropy(ReadOnlySpan<double> weights)
    {
        if (weights.Length <= 1)
        {
            return 0;
        }

        var sum = 0.0;
        foreach (var w in weights)
        {
            sum += Math.Max(0, w);
        }

        if (sum <= 0)
        {
            return 0;
        }

        var entropy = 0.0;
        foreach (var w in weights)
        {
            var p = Math.Max(0, w) / sum;
            if (p > 0)
            {
                entropy -= p * Math.Log(p);
            }
        }

        return Math.Clamp(entropy / Math.Log(weights.Length), 0, 1);
    }

    public static double Temperature(double normalisedEntropy, double min = DefaultMinTemperature, double max = DefaultMaxTemperature) =>
        min + ((max - min) * normalisedEntropy);

    /// <summary>
    /// A group's tempered distribution for Adaptive mode: <c>p = w/Σw</c>, <c>p̃ = p^(1/T) / Σ p^(1/T)</c> with
    /// T from the group's own normalised entropy. Returns p̃ and T.
    /// </summary>
    public static (double[] Tempered, double Temperature) Temper(ReadOnlySpan<double> weights, double min = DefaultMinTemperature, double max = DefaultMaxTemperature)
    {
        var t = Temperature(NormalisedEntropy(weights), min, max);
        var sum = 0.0;
        foreach (var w in weights)
        {
            sum += Math.Max(0, w);
        }

        var tempered = new double[weights.Length];
        if (sum <= 0)
        {
            return (tempered, t);
        }

        var total = 0.0;
        for (var j = 0; j < weights.Length; j++)
        {
            tempered[j] = Math.Pow(Math.Max(0, weights[j]) / sum, 1 / t);
            total += tempered[j];
        }

        for (var j = 0; j < tempered.Length; j++)
        {
            tempered[j] /= total;
        }

        return (tempered, t);
    }
}
