using System.ComponentModel;
using System.Globalization;
using StarKv.Grains.Configuration;

namespace StarKv.Gateway.Configuration;

/// <summary>What is wrong with the <c>StarKv</c> configuration before anything binds it: values of the wrong type
/// (errors, so start-up stops with a clear line rather than a binder's stack trace) and keys no program reads (warnings:
/// a typo would otherwise be silently ignored).</summary>
public sealed record ConfigurationProblems(IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings);

/// <summary>Checks every key under <c>StarKv</c> against the configuration contract (<see cref="ConfigurationKeys"/>).</summary>
public static class ConfigurationCheck
{
    public static ConfigurationProblems Check(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        var warnings = new List<string>();
        foreach (var (path, value) in configuration.GetSection(ConfigurationKeys.Root).AsEnumerable().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (value is null)
            {
                continue;
            }

            var pattern = string.Join(':', path.Split(':').Select(part => part.Length > 0 && part.All(char.IsAsciiDigit) ? "*" : part));
            if (!ConfigurationKeys.All.TryGetValue(pattern, out var type))
            {
                var closest = Closest(pattern);
                warnings.Add($"{path} is not a StarKv configuration key, so it is ignored{(closest is null ? "" : $" (did you mean {closest}?)")}.");
            }
            else if (!Converts(value, type))
            {
                errors.Add($"{path} is '{value}', which is not {Describe(type)}.");
            }
        }

        return new ConfigurationProblems(errors, warnings);
    }

    private static bool Converts(string value, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }

        try
        {
            return TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value) is not null;
        }
        catch (Exception error) when (error is FormatException or NotSupportedException or ArgumentException or OverflowException || error.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) => string.Create(CultureInfo.InvariantCulture, $"a whole number ({int.MinValue}..{int.MaxValue})"),
        _ when type == typeof(long) => "a whole number",
        _ when type == typeof(double) => "a number (with '.' as the decimal point)",
        _ when type == typeof(bool) => "true or false",
        _ => type.Name,
    };

    /// <summary>The known key nearest to <paramref name="pattern"/> by edit distance, when it is near enough to be a typo.</summary>
    private static string? Closest(string pattern)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var key in ConfigurationKeys.All.Keys)
        {
            var distance = Distance(pattern.ToUpperInvariant(), key.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (key, distance);
            }
        }

        return bestDistance <= 3 ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}
