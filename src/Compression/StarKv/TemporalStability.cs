namespace StarKv.Compression.StarKv;

/// <summary>
/// STaR-KV part (ii): how stable a group's attention over the screen is across screenshots, and the discount
/// of older frames it implies. <c>A_g = S_g[V]/ΣS_g[V]</c>; <c>E_g ← ρE_g + (1−ρ)A_g</c> (reset to A_g on a new
/// grid); <c>stab_g = clamp(cos(A_g, E_g), 0, 1)</c>; a token Δ screenshots old whose dominant group is g gets
/// <c>D = d_min + (1 − d_min)·exp(−δ·Δ·stab_g)</c> (Δ = 0 for text).
/// </summary>
public static class TemporalStability
{
    /// <summary>The EMA decay ρ.</summary>
    public const double DefaultDecay = 0.9;

    /// <summary>The discount rate δ.</summary>
    public const double DefaultRate = 0.1;

    /// <summary><c>A = s / Σ s</c>; null when the sum is not positive.</summary>
    public static double[]? Normalise(IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var sum = scores.Sum();
        return sum > 0 ? scores.Select(s => s / sum).ToArray() : null;
    }

    /// <summary>One EMA step <c>ρE + (1 − ρ)A</c>, or A itself when there is no previous EMA of A's length.</summary>
    public static double[] UpdateEma(double[]? previous, IReadOnlyList<double> attention, double decay = DefaultDecay)
    {
        ArgumentNullException.ThrowIfNull(attention);
        if (previous is null || previous.Length != attention.Count)
        {
            return attention.ToArray();
        }

        var next = new double[previous.Length];
        for (var i = 0; i < next.Length; i++)
        {
            next[i] = (decay * previous[i]) + ((1 - decay) * attention[i]);
        }

        return next;
    }

    /// <summary><c>clamp(cos(a, e), 0, 1)</c>; 0 when either vector is zero.</summary>
    public static double Stability(IReadOnlyList<double> attention, IReadOnlyList<double> ema)
    {
        ArgumentNullException.ThrowIfNull(attention);
        ArgumentNullException.ThrowIfNull(ema);
        double dot = 0, na = 0, ne = 0;
        for (var i = 0; i < attention.Count; i++)
        {
            dot += attention[i] * ema[i];
            na += attention[i] * attention[i];
            ne += ema[i] * ema[i];
        }

        return na > 0 && ne > 0 ? Math.Clamp(dot / Math.Sqrt(na * ne), 0, 1) : 0;
    }

    /// <summary><c>D = d_min + (1 − d_min)·exp(−δ·Δ·stab)</c>.</summary>
    public static double Discount(int frameAge, double stability, double rate = DefaultRate, double floor = 0) =>
        floor + ((1 - floor) * Math.Exp(-rate * frameAge * stability));
}
