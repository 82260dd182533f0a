using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;

namespace StarKv.Eval.Core.Loaders;

/// <summary>Which step text AndroidControl sends: the goal only ("high") or the goal and the step instruction ("low").</summary>
public enum AndroidInstructionLevel
{
    High,
    Low,
}

/// <summary>Choices that change how a benchmark is read or graded.</summary>
public sealed record BenchmarkSettings
{
    /// <summary>AndroidControl's step rule; null picks the element-box rule, or the distance rule for the OS-Atlas export (which has no element list).</summary>
    public AndroidControlRule? AndroidRule { get; init; }

    public AndroidInstructionLevel AndroidLevel { get; init; } = AndroidInstructionLevel.High;
}

/// <summary>Reads one benchmark's published layout from a folder.</summary>
public interface IBenchmarkLoader
{
    /// <summary>The name the command line uses, for example <c>screenspot-pro</c>.</summary>
    string Name { get; }

    /// <exception cref="DatasetLayoutException">The folder is not this benchmark's layout; the message names what is missing.</exception>
    Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken);
}

/// <summary>Every loader by name.</summary>
public static class BenchmarkLoaders
{
    public static IReadOnlyList<IBenchmarkLoader> All { get; } =
    [
        new ScreenSpotV2Loader(), new ScreenSpotProLoader(), new AndroidControlLoader(), new AgentNetBenchLoader(), new SyntheticLoader(),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(l => l.Name).ToArray();

    /// <exception cref="ArgumentException">No loader has that name; the message lists the known ones.</exception>
    public static IBenchmarkLoader Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(l => string.Equals(l.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown benchmark '{name}'. Known benchmarks: {string.Join(", ", Names)}.", nameof(name));
    }
}
