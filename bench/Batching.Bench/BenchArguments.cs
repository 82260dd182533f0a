using System.Globalization;

namespace StarKv.Batching.Bench;

/// <summary>The command line.</summary>
public sealed record BenchArguments(IReadOnlyList<int> Sessions, int Steps, int NewTokens, IReadOnlyList<double> Budgets, int MaxTokens, string Out, bool DecodeProbe = false, int Threads = 0, string Name = "batching")
{
    public static BenchArguments Parse(string[] args)
    {
        var result = new BenchArguments([1, 4, 16, 32], 2, 24, [0.2, 1.0], 2048, Path.Combine("bench", "results"));
        if (args.Contains("--decode-probe"))
        {
            result = result with { DecodeProbe = true };
            args = args.Where(a => a != "--decode-probe").ToArray();
        }

        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            result = args[i] switch
            {
                "--sessions" => result with { Sessions = value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() },
                "--steps" => result with { Steps = int.Parse(value, CultureInfo.InvariantCulture) },
                "--new-tokens" => result with { NewTokens = int.Parse(value, CultureInfo.InvariantCulture) },
                "--budgets" => result with { Budgets = value.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray() },
                "--max-tokens" => result with { MaxTokens = int.Parse(value, CultureInfo.InvariantCulture) },
                "--out" => result with { Out = value },
                "--name" => result with { Name = value },
                "--threads" => result with { Threads = int.Parse(value, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }

        return result;
    }
}
