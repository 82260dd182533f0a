using System.Globalization;
using StarKv.Compression;
using StarKv.Eval.Core.Loaders;
using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Eval.Core.Runner;

/// <summary>Everything one evaluation run needs; the command line maps onto it one option per property.</summary>
public sealed record EvalOptions
{
    public static IReadOnlyList<string> DefaultMethods { get; } = ["full", "snapkv", "guikv", "starkv"];

    public static IReadOnlyList<double> DefaultBudgets { get; } = [0.1, 0.2, 0.4];

    /// <summary>A name of <see cref="BenchmarkLoaders.Names"/>.</summary>
    public required string Benchmark { get; init; }

    public required string DataFolder { get; init; }

    /// <summary>Results, the resume file, table, plot and heatmaps go here.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>A Hugging Face Qwen2.5-VL checkpoint folder; null with <see cref="Tiny"/>.</summary>
    public string? ModelFolder { get; init; }

    /// <summary>Use the built-in tiny model (random weights: plumbing, not accuracy).</summary>
    public bool Tiny { get; init; }

    /// <summary>Where the tiny model is written (a temp folder when null).</summary>
    public string? TinyFolder { get; init; }

    /// <summary>Compression methods (names of the compressor factory).</summary>
    public IReadOnlyList<string> Methods { get; init; } = DefaultMethods;

    /// <summary>KV budgets as fractions of the tokens seen; "full" runs once at 1.</summary>
    public IReadOnlyList<double> Budgets { get; init; } = DefaultBudgets;

    public IReadOnlyList<SessionMode> Modes { get; init; } = [SessionMode.RetainedCache];

    /// <summary>Run this many episodes, drawn with <see cref="Seed"/>; all (in file order) when null.</summary>
    public int? Limit { get; init; }

    /// <summary>Draws the subset and seeds the methods that draw random numbers.</summary>
    public int Seed { get; init; }

    /// <summary>cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>float32, bfloat16 or float16; null: float32 on the CPU and for the tiny model, bfloat16 on a GPU.</summary>
    public string? DType { get; init; }

    /// <summary>The most tokens a step may decode.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>The space of <c>(x,y)</c> tuples in answers (UI-TARS-1.5: resized pixels).</summary>
    public CoordinateSpace TupleSpace { get; init; } = CoordinateSpace.ResizedPixels;

    public BenchmarkSettings Settings { get; init; } = new();

    /// <summary>Heatmaps are drawn for this many of the first episodes (0: none).</summary>
    public int HeatmapEpisodes { get; init; } = 2;

    /// <exception cref="ArgumentException">The first invalid option, named.</exception>
    public void Validate()
    {
        BenchmarkLoaders.Get(Benchmark);
        if (string.IsNullOrWhiteSpace(DataFolder))
        {
            throw new ArgumentException("--data is required.");
        }

        if (string.IsNullOrWhiteSpace(OutputFolder))
        {
            throw new ArgumentException("--out is required.");
        }

        if (Tiny == (ModelFolder is not null))
        {
            throw new ArgumentException("Give exactly one of --model <folder> and --tiny.");
        }

        if (Methods.Count == 0)
        {
            throw new ArgumentException("--methods needs at least one method.");
        }

        foreach (var method in Methods)
        {
            if (!CompressorFactory.Names.Contains(method.Trim().ToLowerInvariant(), StringComparer.Ordinal))
            {
                throw new ArgumentException($"Unknown method '{method}' in --methods. Known methods: {string.Join(", ", CompressorFactory.Names)}.");
            }
        }

        if (Methods.Any(m => !IsFull(m)) && Budgets.Count == 0)
        {
            throw new ArgumentException("--budgets needs at least one budget for the compressing methods.");
        }

        foreach (var budget in Budgets)
        {
            if (double.IsNaN(budget) || budget <= 0 || budget > 1)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Budget {budget} in --budgets is outside (0, 1]."));
            }
        }

        if (Modes.Count == 0)
        {
            throw new ArgumentException("--modes needs at least one of retained, reprefill.");
        }

        if (Limit is <= 0)
        {
            throw new ArgumentException($"--limit must be positive; got {Limit}.");
        }

        if (MaxNewTokens < 1)
        {
            throw new ArgumentException($"--max-new-tokens must be at least 1; got {MaxNewTokens}.");
        }

        if (HeatmapEpisodes < 0)
        {
            throw new ArgumentException($"--heatmaps must not be negative; got {HeatmapEpisodes}.");
        }
    }

    /// <summary>Every configuration to run: per mode, "full" once at budget 1 and every other method at every budget.</summary>
    public IReadOnlyList<RunConfig> Configs()
    {
        var configs = new List<RunConfig>();
        foreach (var mode in Modes.Distinct())
        {
            foreach (var method in Methods.Select(m => m.Trim().ToLowerInvariant()).Distinct())
            {
                if (IsFull(method))
                {
                    configs.Add(new RunConfig(mode, method, 1.0));
                    continue;
                }

                foreach (var budget in Budgets.Distinct().Order())
                {
                    configs.Add(new RunConfig(mode, method, budget));
                }
            }
        }

        return configs;
    }

    internal static bool IsFull(string method) => string.Equals(method.Trim(), "full", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One configuration: session mode, method and budget.</summary>
public sealed record RunConfig(SessionMode Mode, string Method, double Budget)
{
    public string ModeName => ModeNames.Of(Mode);

    /// <summary><c>mode/method/budget</c>, the key of results and the resume file.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture, $"{ModeName}/{Method}/{Budget:0.###}");

    /// <summary>"full" for the full cache, else the budget in percent.</summary>
    public string BudgetLabel => EvalOptions.IsFull(Method) ? "full" : string.Create(CultureInfo.InvariantCulture, $"{Budget * 100:0.#}%");
}

/// <summary>The command-line names of <see cref="SessionMode"/>.</summary>
public static class ModeNames
{
    public static string Of(SessionMode mode) => mode == SessionMode.RetainedCache ? "retained" : "reprefill";

    /// <exception cref="ArgumentException">Neither retained nor reprefill.</exception>
    public static SessionMode Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "retained" => SessionMode.RetainedCache,
        "reprefill" => SessionMode.ReprefillHistory,
        _ => throw new ArgumentException($"Unknown mode '{name}'; expected retained or reprefill."),
    };
}
