using System.Globalization;
using System.Numerics;

namespace StarKv.Compression.Api;

/// <summary>
/// How many entries a layer may keep. A ratio budget keeps <c>max(W + 1, floor(ratio · seenTokens))</c>;
/// an absolute budget keeps <c>max(W + 1, maxTokens)</c>. The W window entries count inside the budget.
/// </summary>
/// <remarks>
/// The ratio is taken as the decimal it is written as (the shortest decimal that reads back as the same double, so
/// 0.7 is 7/10, not the binary fraction 0.6999…), and the floor is computed on that fraction in integers: 0.7 of 90
/// tokens is 63, where the product in doubles (62.99…) would floor to 62.
/// </remarks>
public sealed record KvBudget
{
    private readonly BigInteger _numerator;
    private readonly BigInteger _denominator;

    private KvBudget(double? ratio, int? maxTokens)
    {
        Ratio = ratio;
        MaxTokens = maxTokens;
        (_numerator, _denominator) = ratio is { } r ? DecimalFraction(r) : (BigInteger.Zero, BigInteger.One);
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
        ArgumentOutOfRangeException.ThrowIfNegative(seenTokens);
        var target = Ratio is null ? MaxTokens!.Value : (long)(_numerator * seenTokens / _denominator);
        return Math.Max(window + 1L, target);
    }

    public override string ToString() => Ratio is { } r ? $"{r:P0}" : $"{MaxTokens} tokens";

    /// <summary>The ratio as numerator / 10^k from its shortest round-trip decimal form ("0.7", "1E-05").</summary>
    private static (BigInteger Numerator, BigInteger Denominator) DecimalFraction(double ratio)
    {
        var text = ratio.ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = text.IndexOfAny(['E', 'e']);
        var exponent = exponentAt < 0 ? 0 : int.Parse(text[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = exponentAt < 0 ? text : text[..exponentAt];
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        if (point >= 0)
        {
            exponent -= mantissa.Length - point - 1;
            mantissa = mantissa.Remove(point, 1);
        }

        var digits = BigInteger.Parse(mantissa, NumberStyles.None, CultureInfo.InvariantCulture);
        return exponent >= 0
            ? (digits * BigInteger.Pow(10, exponent), BigInteger.One)
            : (digits, BigInteger.Pow(10, -exponent));
    }
}
