using System.Globalization;
using System.Text.Json;
using StarKv.Bench;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.SyntheticScreens;
using StarKv.StepCost.Bench;
using TorchSharp;

// Two modes:
//   --run --budget B [--steps 16] [--commit C] --out run.json      one session of the code this build holds, in this process
//   --report RUN.json... [--out bench/results]                      writes step-cost.json and step-cost.md from runs
// run-before-after.sh drives both for the code before issue 14 and for the working tree.
var options = Arguments.Parse(args);
if (options.Report.Count > 0)
{
    var runs = options.Report.Select(path => JsonSerializer.Deserialize<RunResult>(File.ReadAllText(path), StepCostReport.Json)!).ToList();
    StepCostReport.Write(runs, options.Out ?? Path.Combine("bench", "results"));
    Console.WriteLine($"Wrote step-cost.json and step-cost.md to {options.Out ?? Path.Combine("bench", "results")}.");
    return 0;
}

if (!options.Run || options.Out is null)
{
    Console.Error.WriteLine("Usage: StepCost.Bench --run --budget B [--steps N] [--commit C] --out run.json | --report RUN.json... [--out DIR]");
    return 2;
}

var scratch = Path.Combine(Path.GetTempPath(), "starkv-step-cost-" + Guid.NewGuid().ToString("N"));
try
{
    using var runtime = Qwen25VlRuntime.LoadFolder(BenchModel.Write(Path.Combine(scratch, "model")), "bench-1024", torch.CPU, torch.ScalarType.Float32);
    var sessionOptions = new SessionOptions
    {
        Method = "starkv",
        BudgetRatio = options.Budget,
        Mode = SessionMode.RetainedCache,
        MaxNewTokens = 32,
        Task = "Book a table for two at eight in the calendar app.",
    };
    var screens = Enumerable.Range(0, options.Steps).Select(s => SyntheticScreenRenderer.RenderPng(7, 1280, 720, s)).ToArray();
    using var driver = new SessionStepDriver(runtime, sessionOptions, Path.Combine(scratch, "checkpoints"));
    GC.Collect();
    GC.WaitForPendingFinalizers();
    ResidentMemory.ResetPeak(); // the peak of loading the weights is not the steps'
    var loaded = ResidentMemory.Current;
    var rows = new List<StepRow>();
    for (var step = 1; step <= options.Steps; step++)
    {
        var row = driver.Step(step, screens[step - 1], $"Step {step}: click the next field.");
        rows.Add(row);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{driver.Code} {options.Budget:P0} step {step,2}: {row.WallMs,7:F0} ms (preprocess {row.PreprocessMs:F0}, vision {row.VisionMs:F0}, prefill {row.PrefillMs:F0}, compress {row.CompressMs:F0}, decode {row.DecodeMs:F0}, checkpoint {row.CheckpointMs:F0}), KV {row.KvBytes / 1048576.0:F1} MiB, RSS peak {row.PeakResidentBytes / 1048576.0:F0} MiB"));
    }

    var background = driver.FinishBackground();
    rows = [.. rows.Select(r => background.TryGetValue(r.Step, out var ms) ? r with { BackgroundCheckpointMs = ms } : r)];
    var result = new RunResult(driver.Code, options.Commit ?? "", options.Budget, loaded, rows);
    File.WriteAllText(options.Out, JsonSerializer.Serialize(result, StepCostReport.Json));
    return 0;
}
finally
{
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

/// <summary>The command line.</summary>
internal sealed record Arguments(bool Run, double Budget, int Steps, string? Commit, string? Out, IReadOnlyList<string> Report)
{
    public static Arguments Parse(string[] args)
    {
        var run = false;
        var budget = 0.2;
        var steps = 16;
        string? commit = null, output = null;
        var report = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--run":
                    run = true;
                    break;
                case "--budget":
                    budget = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--steps":
                    steps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--commit":
                    commit = args[++i];
                    break;
                case "--out":
                    output = args[++i];
                    break;
                case "--report":
                    while (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        report.Add(args[++i]);
                    }

                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        return new Arguments(run, budget, steps, commit, output, report);
    }
}
