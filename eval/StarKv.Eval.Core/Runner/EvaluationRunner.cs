using System.Diagnostics;
using StarKv.Compression;
using StarKv.Compression.Tensors;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Loaders;
using StarKv.Eval.Core.Reports;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.Eval.Core.Runner;

/// <summary>
/// Runs a benchmark through the serving runtime for every configuration (mode × method × budget): one
/// <see cref="AgentSession"/> per episode, its steps in order, each answer parsed with the runtime's UI-TARS parser and
/// graded; every finished episode is appended to the resume file at once, so an interrupted run continues where it
/// stopped. At the end it writes <c>results.json</c>, <c>results.md</c>, the accuracy-versus-budget plot per mode and
/// the retained-token heatmaps of the first <see cref="EvalOptions.HeatmapEpisodes"/> episodes.
/// </summary>
public sealed class EvaluationRunner(IEvalProgress? progress = null)
{
    private readonly IEvalProgress _progress = progress ?? NoProgress.Instance;

    /// <summary>Loads the model the options name (or the tiny one), runs, and frees the model.</summary>
    public async Task<EvalReport> RunAsync(EvalOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var benchmark = await LoadBenchmarkAsync(options, cancellationToken).ConfigureAwait(false);
        using var runtime = LoadRuntime(options);
        _progress.Message($"model {runtime.ModelId} on {runtime.Device} ({runtime.Model.DType})");
        return await RunAsync(options, benchmark, runtime, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs on a runtime the caller owns (tests, tools that already hold a model).</summary>
    public async Task<EvalReport> RunAsync(EvalOptions options, Qwen25VlRuntime runtime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(runtime);
        options.Validate();
        var benchmark = await LoadBenchmarkAsync(options, cancellationToken).ConfigureAwait(false);
        return await RunAsync(options, benchmark, runtime, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The episodes a run takes: all in file order, or <paramref name="limit"/> drawn with a seeded shuffle.</summary>
    public static IReadOnlyList<EvalEpisode> Select(IReadOnlyList<EvalEpisode> episodes, int? limit, int seed)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        if (limit is not { } count || count >= episodes.Count)
        {
            return episodes;
        }

        var shuffled = episodes.ToArray();
        new Random(seed).Shuffle(shuffled);
        return shuffled.Take(count).ToArray();
    }

    private static Task<BenchmarkData> LoadBenchmarkAsync(EvalOptions options, CancellationToken cancellationToken) =>
        BenchmarkLoaders.Get(options.Benchmark).LoadAsync(Path.GetFullPath(options.DataFolder), options.Settings, cancellationToken);

    private static Qwen25VlRuntime LoadRuntime(EvalOptions options)
    {
        var device = new torch.Device(options.Device);
        if (options.Tiny)
        {
            var folder = options.TinyFolder ?? TinyModelFolder.DefaultPath();
            TinyModelFolder.EnsureWritten(folder, TinyModelFolder.DefaultSeed);
            return Qwen25VlRuntime.LoadFolder(folder, "tiny", device, ParseDType(options.DType) ?? torch.ScalarType.Float32);
        }

        var model = Path.GetFullPath(options.ModelFolder!);
        var dtype = ParseDType(options.DType) ?? (device.type == DeviceType.CUDA ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
        return Qwen25VlRuntime.LoadFolder(model, Path.GetFileName(model.TrimEnd(Path.DirectorySeparatorChar)), device, dtype);
    }

    /// <exception cref="ArgumentException">Not float32, bfloat16 or float16.</exception>
    public static torch.ScalarType? ParseDType(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "float32" or "fp32" => torch.ScalarType.Float32,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        "float16" or "fp16" => torch.ScalarType.Float16,
        _ => throw new ArgumentException($"Unknown --dtype '{name}'; expected float32, bfloat16 or float16."),
    };

    private async Task<EvalReport> RunAsync(EvalOptions options, BenchmarkData benchmark, Qwen25VlRuntime runtime, CancellationToken cancellationToken)
    {
        var episodes = Select(benchmark.Episodes, options.Limit, options.Seed);
        var configs = options.Configs();
        var output = Path.GetFullPath(options.OutputFolder);
        var store = ResultStore.Open(output, new RunIdentity
        {
            Benchmark = benchmark.Name,
            Data = Path.GetFullPath(options.DataFolder),
            Model = options.Tiny ? "tiny" : Path.GetFullPath(options.ModelFolder!),
            DType = runtime.Model.DType.ToString(),
            Limit = options.Limit,
            Seed = options.Seed,
            MaxNewTokens = options.MaxNewTokens,
            TupleSpace = options.TupleSpace.ToString(),
            Grader = benchmark.Grader.Name,
            Layout = benchmark.Layout,
        });

        var chosen = episodes.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        _progress.Started(configs, episodes.Count, configs.ToDictionary(c => c.Key, c => store.Records.Count(r => r.Config == c.Key && chosen.Contains(r.EpisodeId))));
        var heatmaps = new List<string>();
        var patch = runtime.Config.Vision.PatchSize * runtime.Config.Vision.SpatialMergeSize;
        for (var e = 0; e < episodes.Count; e++)
        {
            var episode = episodes[e];
            foreach (var config in configs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (store.Has(config.Key, episode.Id))
                {
                    continue;
                }

                var drawHeatmap = e < options.HeatmapEpisodes;
                var (record, kept) = RunEpisode(options, benchmark, runtime, config, episode, drawHeatmap, cancellationToken);
                store.Append(record);
                if (kept is not null)
                {
                    heatmaps.AddRange(HeatmapRenderer.WriteEpisode(
                        Path.Combine(output, "heatmaps"), config, episode, record, kept, Window(config, episode, benchmark), patch, options.Modes.Count > 1));
                }

                var done = store.Records.Where(r => r.Config == config.Key && chosen.Contains(r.EpisodeId)).ToList();
                _progress.EpisodeFinished(config, done.Count, benchmark.Summary.Summarize(done)[0].Value);
                await Task.Yield();
            }
        }

        var records = configs.SelectMany(c => episodes.Select(ep => store.Records.First(r => r.Config == c.Key && r.EpisodeId == ep.Id))).ToList();
        var summaries = configs.Select(c => Summarize(benchmark, c, records.Where(r => r.Config == c.Key).ToList())).ToList();
        var report = new EvalReport
        {
            Benchmark = benchmark.Name,
            Layout = benchmark.Layout,
            GraderName = benchmark.Grader.Name,
            GraderSource = benchmark.Grader.Source,
            Model = runtime.ModelId,
            Episodes = episodes.Count,
            Records = records,
            Summaries = summaries,
            ResultsJson = Path.Combine(output, "results.json"),
            Table = Path.Combine(output, "results.md"),
            Plots = options.Modes.Distinct().Select(m => Path.Combine(output, BudgetPlot.FileName(ModeNames.Of(m)))).ToArray(),
            Heatmaps = heatmaps.Count > 0 ? heatmaps : ExistingHeatmaps(output),
        };
        ResultsWriter.Write(report, options, benchmark.Summary.Headline);
        _progress.Message($"wrote {report.ResultsJson}, {report.Table}, {string.Join(", ", report.Plots)} and {report.Heatmaps.Count} heatmaps");
        return report;
    }

    /// <summary>The screenshots the session's cache may hold after the episode: all (retained) or the last few (re-prefilled).</summary>
    private static int[] Window(RunConfig config, EvalEpisode episode, BenchmarkData benchmark)
    {
        var count = episode.Steps.Count;
        var first = config.Mode == SessionMode.RetainedCache ? 0 : Math.Max(0, count - benchmark.ReprefillScreenshots);
        return Enumerable.Range(first, count - first).ToArray();
    }

    private static string[] ExistingHeatmaps(string output)
    {
        var folder = Path.Combine(output, "heatmaps");
        return Directory.Exists(folder) ? Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [];
    }

    private static ConfigSummary Summarize(BenchmarkData benchmark, RunConfig config, List<EpisodeRecord> records)
    {
        var steps = records.SelectMany(r => r.Steps).ToList();
        return new ConfigSummary
        {
            Config = config,
            Episodes = records.Count,
            Cells = benchmark.Summary.Summarize(records),
            KvBytesMean = steps.Count == 0 ? 0 : steps.Average(s => (double)s.KvBytes),
            FullKvBytesMean = steps.Count == 0 ? 0 : steps.Average(s => (double)s.FullKvBytes),
            StepMsMean = steps.Count == 0 ? 0 : steps.Average(s => s.StepMs),
        };
    }

    private static (EpisodeRecord Record, KeptVision? Kept) RunEpisode(
        EvalOptions options, BenchmarkData benchmark, Qwen25VlRuntime runtime, RunConfig config, EvalEpisode episode, bool keepCells, CancellationToken cancellationToken)
    {
        var sessionOptions = new SessionOptions
        {
            Method = config.Method,
            BudgetRatio = config.Budget,
            Mode = config.Mode,
            MaxNewTokens = options.MaxNewTokens,
            HistoryScreenshots = benchmark.ReprefillScreenshots,
            Task = episode.Task,
            Seed = options.Seed,
        };
        var compressor = new CompressorFactory().Create(config.Method, new CompressorOptions { Seed = options.Seed });
        using var session = runtime.CreateSession(sessionOptions, compressor);
        var steps = new List<StepRecord>();
        for (var i = 0; i < episode.Steps.Count; i++)
        {
            var step = episode.Steps[i];
            var image = step.Image.Read();
            var watch = Stopwatch.StartNew();
            StepOutcome outcome;
            using (new QuietGcRegion())
            {
                // No collection during the step's native calls (long runs otherwise crash at random; see QuietGcRegion).
                outcome = session.Step(image, step.Instruction, cancellationToken);
            }

            var elapsed = watch.Elapsed.TotalMilliseconds;
            var prediction = ModelPrediction.Parse(outcome.Text, outcome.ScreenshotWidth, outcome.ScreenshotHeight, outcome.ResizedWidth, outcome.ResizedHeight, options.TupleSpace);
            var grade = benchmark.Grader.Grade(prediction, step);
            var point = prediction.OriginalPoint;
            steps.Add(new StepRecord
            {
                Index = i,
                StepId = step.Id,
                Category = step.Category,
                Prediction = outcome.Text,
                Action = prediction.Describe(),
                X = point?.X,
                Y = point?.Y,
                Score = grade.Score,
                Correct = grade.Correct,
                Note = grade.Note,
                KvBytes = outcome.Figures.KvBytes,
                FullKvBytes = outcome.Figures.FullKvBytes,
                StepMs = elapsed,
                Width = outcome.ScreenshotWidth,
                Height = outcome.ScreenshotHeight,
                ResizedWidth = outcome.ResizedWidth,
                ResizedHeight = outcome.ResizedHeight,
                TokensPrefilled = outcome.Figures.TokensPrefilled,
                TokensDecoded = outcome.Figures.TokensDecoded,
            });
        }

        var record = new EpisodeRecord
        {
            Config = config.Key,
            Mode = config.ModeName,
            Method = config.Method,
            Budget = config.Budget,
            EpisodeId = episode.Id,
            Tags = episode.Tags,
            Steps = steps,
        };
        return (record, keepCells ? session.KeptVisionCells() : null);
    }
}
