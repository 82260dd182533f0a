using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StarKv.Compression;
using StarKv.Eval;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Loaders;
using StarKv.Eval.Core.Runner;
using StarKv.GpuWorker.Actions;

var benchmark = new Option<string>("--benchmark") { Description = $"One of {string.Join(", ", BenchmarkLoaders.Names)}.", Required = true };
var data = new Option<DirectoryInfo>("--data") { Description = "The benchmark's folder in its published layout.", Required = true };
var model = new Option<DirectoryInfo?>("--model") { Description = "A Hugging Face Qwen2.5-VL / UI-TARS-1.5 checkpoint folder." };
var tiny = new Option<bool>("--tiny") { Description = "The built-in tiny model with random weights (checks the plumbing, not accuracy)." };
var methods = new Option<string>("--methods") { Description = $"Comma-separated, of: {string.Join(", ", CompressorFactory.Names)}.", DefaultValueFactory = _ => string.Join(',', EvalOptions.DefaultMethods) };
var budgets = new Option<string>("--budgets") { Description = "Comma-separated fractions of the tokens seen; full runs once.", DefaultValueFactory = _ => "0.1,0.2,0.4" };
var modes = new Option<string>("--modes") { Description = "retained (the cluster's retained cache), reprefill (history re-prefilled each step, as the papers measured), or both.", DefaultValueFactory = _ => "retained" };
var limit = new Option<int?>("--limit") { Description = "Run this many episodes, drawn with --seed (all, in file order, when absent)." };
var seed = new Option<int>("--seed") { Description = "Draws the --limit subset and seeds the random method.", DefaultValueFactory = _ => 0 };
var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
var dtype = new Option<string?>("--dtype") { Description = "float32, bfloat16 or float16 (default: float32 on the CPU and for --tiny, bfloat16 on a GPU)." };
var output = new Option<DirectoryInfo>("--out") { Description = "Results folder; a run there resumes from what it holds.", DefaultValueFactory = _ => new DirectoryInfo("results") };
var maxNew = new Option<int>("--max-new-tokens") { Description = "The most tokens one step decodes.", DefaultValueFactory = _ => 256 };
var heatmaps = new Option<int>("--heatmaps") { Description = "Draw retained-token heatmaps for this many of the first episodes.", DefaultValueFactory = _ => 2 };
var rule = new Option<string?>("--android-rule") { Description = "AndroidControl step rule: element-box (default), distance14 (OS-Atlas) or relaxed (STaR-KV)." };
var level = new Option<string>("--android-level") { Description = "AndroidControl instructions: high (goal and previous actions) or low (plus the step instruction).", DefaultValueFactory = _ => "high" };
var tuples = new Option<string>("--tuple-coordinates") { Description = "How (x,y) tuples in answers are read: resized (UI-TARS-1.5 pixels of the resized image) or norm1000 (UI-TARS v1).", DefaultValueFactory = _ => "resized" };

var root = new RootCommand("Runs a GUI-agent benchmark for each KV compression method and budget through the serving runtime, and writes results.json, results.md, an accuracy-vs-budget plot and retained-token heatmaps.")
{
    benchmark, data, model, tiny, methods, budgets, modes, limit, seed, device, dtype, output, maxNew, heatmaps, rule, level, tuples,
};
root.Validators.Add(result =>
{
    if ((result.GetValue(model) is null) == !result.GetValue(tiny))
    {
        result.AddError("Give exactly one of --model <folder> and --tiny.");
    }
});
root.SetAction(async (parse, cancellationToken) =>
{
    EvalOptions options;
    try
    {
        options = new EvalOptions
        {
            Benchmark = parse.GetValue(benchmark)!,
            DataFolder = parse.GetValue(data)!.FullName,
            ModelFolder = parse.GetValue(model)?.FullName,
            Tiny = parse.GetValue(tiny),
            Methods = Split(parse.GetValue(methods)!),
            Budgets = Split(parse.GetValue(budgets)!).Select(b => double.Parse(b, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray(),
            Modes = Split(parse.GetValue(modes)!).Select(ModeNames.Parse).ToArray(),
            Limit = parse.GetValue(limit),
            Seed = parse.GetValue(seed),
            Device = parse.GetValue(device)!,
            DType = parse.GetValue(dtype),
            OutputFolder = parse.GetValue(output)!.FullName,
            MaxNewTokens = parse.GetValue(maxNew),
            HeatmapEpisodes = parse.GetValue(heatmaps),
            TupleSpace = parse.GetValue(tuples)!.Trim().ToLowerInvariant() switch
            {
                "resized" => CoordinateSpace.ResizedPixels,
                "norm1000" => CoordinateSpace.Normalized1000,
                var other => throw new ArgumentException($"Unknown --tuple-coordinates '{other}'; expected resized or norm1000."),
            },
            Settings = new BenchmarkSettings
            {
                AndroidRule = parse.GetValue(rule)?.Trim().ToLowerInvariant() switch
                {
                    null => null,
                    "element-box" => AndroidControlRule.ElementBox,
                    "distance14" => AndroidControlRule.Distance14,
                    "relaxed" => AndroidControlRule.Relaxed,
                    var other => throw new ArgumentException($"Unknown --android-rule '{other}'; expected element-box, distance14 or relaxed."),
                },
                AndroidLevel = parse.GetValue(level)!.Trim().ToLowerInvariant() switch
                {
                    "high" => AndroidInstructionLevel.High,
                    "low" => AndroidInstructionLevel.Low,
                    var other => throw new ArgumentException($"Unknown --android-level '{other}'; expected high or low."),
                },
            },
        };
        options.Validate();
    }
    catch (Exception e) when (e is ArgumentException or FormatException)
    {
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[red]{e.Message}[/]");
        return 2;
    }

    try
    {
        EvalReport? report = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                report = await new EvaluationRunner(new SpectreProgress(context)).RunAsync(options, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        AnsiConsole.WriteLine(File.ReadAllText(report!.Table));
        return 0;
    }
    catch (DatasetLayoutException e)
    {
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[red]{e.Message}[/]");
        return 3;
    }
    catch (InvalidOperationException e)
    {
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[red]{e.Message}[/]");
        return 4;
    }
    catch (OperationCanceledException)
    {
        AnsiConsole.MarkupLine("[yellow]Interrupted; run the same command again to resume.[/]");
        return 130;
    }
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);

static string[] Split(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
