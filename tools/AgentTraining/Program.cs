using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StarKv.AgentTraining.Training;
using StarKv.SyntheticGui.Layout;
using StarKv.SyntheticGui.Tasks;

var train = new Command("train", "Trains the tiny GUI agent on the synthetic suite (resumes from the run folder's state).");
var run = new Option<DirectoryInfo>("--run") { Description = "The run folder (state, log, curve, export).", Required = true };
var steps = new Option<int>("--steps") { Description = "Optimiser steps in all.", DefaultValueFactory = _ => 6000 };
var batch = new Option<int>("--batch") { Description = "Tasks per step.", DefaultValueFactory = _ => 16 };
var learningRate = new Option<double>("--lr") { Description = "Peak learning rate (linear warm-up, then cosine to 10%).", DefaultValueFactory = _ => 8e-4 };
var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => 300 };
var seed = new Option<int>("--seed") { Description = "Seed of the initial weights and heads.", DefaultValueFactory = _ => 1234 };
var threads = new Option<int>("--threads") { Description = "Torch threads.", DefaultValueFactory = _ => 1 };
var validateEvery = new Option<int>("--validate-every") { Description = "Steps between validations.", DefaultValueFactory = _ => 500 };
var validationTasks = new Option<int>("--validation-tasks") { Description = "Validation tasks of each kind.", DefaultValueFactory = _ => 48 };
var evictShare = new Option<double>("--evict-share") { Description = "Share of samples trained turn by turn on randomly evicted caches (0: none).", DefaultValueFactory = _ => 0 };
var evictMin = new Option<double>("--evict-min") { Description = "Lowest kept ratio of an evicted cache.", DefaultValueFactory = _ => 0.08 };
var evictMax = new Option<double>("--evict-max") { Description = "Highest kept ratio of an evicted cache.", DefaultValueFactory = _ => 0.6 };
train.Options.Add(run);
train.Options.Add(steps);
train.Options.Add(batch);
train.Options.Add(learningRate);
train.Options.Add(warmup);
train.Options.Add(seed);
train.Options.Add(threads);
train.Options.Add(validateEvery);
train.Options.Add(validationTasks);
train.Options.Add(evictShare);
train.Options.Add(evictMin);
train.Options.Add(evictMax);
train.SetAction((parse, cancellationToken) =>
{
    var options = new TrainingOptions
    {
        RunFolder = parse.GetValue(run)!.FullName,
        Steps = parse.GetValue(steps),
        BatchSize = parse.GetValue(batch),
        LearningRate = parse.GetValue(learningRate),
        WarmupSteps = parse.GetValue(warmup),
        Seed = parse.GetValue(seed),
        Threads = parse.GetValue(threads),
        ValidateEvery = parse.GetValue(validateEvery),
        ValidationTasks = parse.GetValue(validationTasks),
        Eviction = new KvEviction { Share = parse.GetValue(evictShare), MinRatio = parse.GetValue(evictMin), MaxRatio = parse.GetValue(evictMax) },
    };
    using var trainingRun = new TrainingRun(options);
    var interactive = AnsiConsole.Profile.Capabilities.Interactive;
    Console.WriteLine($"run {options.RunFolder}: steps {trainingRun.StartStep}..{options.Steps}, batch {options.BatchSize}, {trainingRun.Model.Weights.Sum(w => w.Tensor.NumberOfElements):N0} parameters");
    if (interactive)
    {
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(context =>
        {
            var bar = context.AddTask("training", maxValue: options.Steps);
            bar.Value = trainingRun.StartStep;
            trainingRun.Train(entry =>
            {
                bar.Value = entry.Step + 1;
                bar.Description = Describe(entry);
            }, cancellationToken);
        });
    }
    else
    {
        trainingRun.Train(entry =>
        {
            if (entry.Validation is not null || entry.Step % 10 == 0)
            {
                Console.WriteLine(Describe(entry));
            }
        }, cancellationToken);
    }

    return Task.FromResult(0);
});

var suite = new Command("suite", "Writes tasks of the synthetic suite in the evaluation harness's synthetic layout.");
var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write.", Required = true };
var split = new Option<string>("--split") { Description = "train or test.", DefaultValueFactory = _ => "test" };
var count = new Option<int>("--count") { Description = "How many tasks.", DefaultValueFactory = _ => 600 };
var first = new Option<long>("--first") { Description = "Index of the first task in the split.", DefaultValueFactory = _ => 0 };
suite.Options.Add(output);
suite.Options.Add(split);
suite.Options.Add(count);
suite.Options.Add(first);
suite.SetAction(parse =>
{
    var which = parse.GetValue(split) switch
    {
        "train" => SuiteSplit.Train,
        "test" => SuiteSplit.Test,
        var other => throw new ArgumentException($"--split must be train or test; got '{other}'."),
    };
    var tasks = SyntheticLayoutWriter.Write(parse.GetValue(output)!.FullName, which, parse.GetValue(count), new SuiteOptions(), parse.GetValue(first));
    Console.WriteLine($"{tasks.Count} tasks ({string.Join(", ", tasks.GroupBy(t => t.Kind).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"))}) in {parse.GetValue(output)!.FullName}");
    return 0;
});

var export = new Command("export", "Writes a run's last saved state as the shipped Hugging Face folder, with training.json, the curve and the log.");
var exportRun = new Option<DirectoryInfo>("--run") { Description = "The run folder.", Required = true };
var exportOut = new Option<DirectoryInfo>("--out") { Description = "The model folder to write (for example models/tiny-gui-agent).", Required = true };
export.Options.Add(exportRun);
export.Options.Add(exportOut);
export.SetAction(parse =>
{
    var training = StarKv.AgentTraining.Model.AgentExport.Write(parse.GetValue(exportRun)!.FullName, parse.GetValue(exportOut)!.FullName);
    Console.WriteLine($"wrote {parse.GetValue(exportOut)!.FullName} ({training["steps_done"]} steps)");
    return 0;
});

var root = new RootCommand("Trains and describes the tiny GUI agent of StarKV Cluster.") { train, suite, export };
return await root.Parse(args).InvokeAsync();

static string Describe(LogEntry entry) => entry.Validation is { } v
    ? string.Create(CultureInfo.InvariantCulture, $"step {entry.Step + 1}: validation grounding {v.Grounding:P1}, memory {v.Memory:P1}, action {v.Action:P1} ({v.Tasks} tasks)")
    : string.Create(CultureInfo.InvariantCulture, $"step {entry.Step + 1}: loss {entry.Losses!.Total:F3} (reply {entry.Losses.Reply:F3}, digits {entry.Losses.Digits:F3}, attention {entry.Losses.Attention:F3}, inside {entry.Losses.Inside:F3}, position {entry.Losses.Position:F3}, content {entry.Losses.Content:F3}) lr {entry.LearningRate:E2} |g| {entry.GradientNorm:F2} {entry.Seconds:F1}s");
