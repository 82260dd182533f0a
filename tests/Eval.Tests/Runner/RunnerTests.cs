using System.Text.Json;
using SkiaSharp;
using StarKv.Compression;
using StarKv.Eval.Core.Reports;
using StarKv.Eval.Core.Runner;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Eval.Tests.Runner;

/// <summary>The runner end to end with the tiny model (random weights: these check the plumbing, not accuracy).</summary>
[Collection(TinyModelGroup.Name)]
public sealed class RunnerTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _out = TestData.TempFolder("run");

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private EvalOptions Options(string benchmark, string fixture, params string[] methods) => new()
    {
        Benchmark = benchmark,
        DataFolder = TestData.Fixture(fixture),
        OutputFolder = _out,
        Tiny = true,
        Methods = methods.Length > 0 ? methods : ["full", "starkv"],
        Budgets = [0.2, 0.5],
        MaxNewTokens = 4,
        HeatmapEpisodes = 1,
    };

    private Task<EvalReport> Run(EvalOptions options) => new EvaluationRunner().RunAsync(options, tiny.Runtime, CancellationToken.None);

    [Theory]
    [InlineData("screenspot-v2", "screenspot-v2", 2)]
    [InlineData("screenspot-pro", "screenspot-pro", 2)]
    [InlineData("androidcontrol", "androidcontrol", 2)]
    [InlineData("androidcontrol", "androidcontrol-osatlas", 2)]
    [InlineData("agentnetbench", "agentnetbench", 1)]
    [InlineData("synthetic", "synthetic", 2)]
    public async Task Every_format_runs_every_configuration_and_writes_its_files(string benchmark, string fixture, int limit)
    {
        var report = await Run(Options(benchmark, fixture) with { Limit = limit, Seed = 3 });

        string[] expected = ["retained/full/1", "retained/starkv/0.2", "retained/starkv/0.5"];
        Assert.Equal(expected, report.Summaries.Select(s => s.Config.Key));
        Assert.Equal(limit * expected.Length, report.Records.Count);
        Assert.All(report.Summaries, s => Assert.Equal(limit, s.Episodes));
        Assert.All(report.Records.SelectMany(r => r.Steps), s =>
        {
            Assert.InRange(s.Score, 0, 1);
            Assert.True(s.KvBytes > 0 && s.KvBytes <= s.FullKvBytes);
            Assert.True(s.StepMs > 0);
        });
        var full = report.Records.Where(r => r.Method == "full").SelectMany(r => r.Steps);
        Assert.All(full, s => Assert.Equal(s.FullKvBytes, s.KvBytes));

        using (var json = JsonDocument.Parse(File.ReadAllText(report.ResultsJson)))
        {
            Assert.Equal(limit * expected.Length, json.RootElement.GetProperty("samples").GetArrayLength());
            Assert.Equal(expected.Length, json.RootElement.GetProperty("configs").GetArrayLength());
            var sample = json.RootElement.GetProperty("samples")[0].GetProperty("steps")[0];
            foreach (var field in new[] { "prediction", "correct", "kvBytes", "stepMs" })
            {
                Assert.True(sample.TryGetProperty(field, out _), field);
            }
        }

        var table = File.ReadAllText(report.Table);
        Assert.Contains("| starkv | 20% |", table, StringComparison.Ordinal);
        Assert.Contains("| full | full |", table, StringComparison.Ordinal);
        using (var plot = SKBitmap.Decode(report.Plots.Single()))
        {
            Assert.Equal((BudgetPlot.Width, BudgetPlot.Height), (plot.Width, plot.Height));
        }

        Assert.NotEmpty(report.Heatmaps);
        var firstEpisode = report.Records[0];
        var step = firstEpisode.Steps[0];
        var mean = report.Heatmaps.First(h => h.EndsWith("shot0-mean.png", StringComparison.Ordinal));
        using (var image = SKBitmap.Decode(mean))
        {
            Assert.Equal(HeatmapRenderer.Fit(step.Width, step.Height, HeatmapRenderer.MaxWidth), (image.Width, image.Height));
        }

        var layers = report.Heatmaps.First(h => h.EndsWith("shot0-layers.png", StringComparison.Ordinal));
        using (var image = SKBitmap.Decode(layers))
        {
            var size = HeatmapRenderer.MontageSize(tiny.Runtime.Model.LayerCount, step.Width, step.Height);
            Assert.Equal((size.Width, size.Height), (image.Width, image.Height));
        }
    }

    [Fact]
    public async Task Every_method_runs_in_both_modes()
    {
        var options = Options("synthetic", "synthetic", [.. CompressorFactory.Names]) with
        {
            Limit = 1,
            Seed = 5,
            Budgets = [0.3],
            Modes = [SessionMode.RetainedCache, SessionMode.ReprefillHistory],
            HeatmapEpisodes = 0,
        };
        var report = await Run(options);
        Assert.Equal(2 * CompressorFactory.Names.Count, report.Summaries.Count);
        Assert.Equal(["reprefill", "retained"], report.Summaries.Select(s => s.Config.ModeName).Distinct().Order());
        Assert.All(CompressorFactory.Names, m => Assert.Contains(report.Summaries, s => s.Config.Method == m));
        Assert.Equal(2, report.Plots.Count);
        Assert.All(report.Plots, p => Assert.True(File.Exists(p)));
        Assert.Contains("## reprefill cache", File.ReadAllText(report.Table), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_resumes_from_what_it_wrote_and_refuses_another_runs_folder()
    {
        var options = Options("screenspot-pro", "screenspot-pro", "streamingllm") with { Limit = 2, Budgets = [0.5], HeatmapEpisodes = 0 };
        var first = await Run(options);
        var progress = Path.Combine(_out, ResultStore.ProgressFile);
        var lines = File.ReadAllLines(progress);
        Assert.Equal(2, lines.Length);

        // An interrupted run: the last line was cut off half-way. The rerun redoes that episode only.
        File.WriteAllText(progress, lines[0] + "\n" + lines[1][..(lines[1].Length / 2)]);
        var resumed = await Run(options);
        Assert.Equal(first.Records.Select(r => r.EpisodeId), resumed.Records.Select(r => r.EpisodeId));
        var after = File.ReadAllLines(progress).Where(l => l.Length > 0).ToArray();
        Assert.Equal(lines[0], after[0]);
        Assert.Equal(3, after.Length); // the cut line stays, unreadable, and one new record follows it

        // Nothing left to do: a third run appends nothing.
        await Run(options);
        Assert.Equal(3, File.ReadAllLines(progress).Count(l => l.Length > 0));

        var other = await Assert.ThrowsAsync<InvalidOperationException>(() => Run(options with { Seed = 9 }));
        Assert.Contains("Seed '0' there, '9' now", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_checked_with_named_errors()
    {
        var options = Options("synthetic", "synthetic");
        Assert.Contains("Unknown method 'nope'", Assert.Throws<ArgumentException>(() => (options with { Methods = ["nope"] }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("outside (0, 1]", Assert.Throws<ArgumentException>(() => (options with { Budgets = [1.5] }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("exactly one of --model", Assert.Throws<ArgumentException>(() => (options with { ModelFolder = "/x" }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Unknown benchmark", Assert.Throws<ArgumentException>(() => (options with { Benchmark = "mind2web" }).Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Full_runs_once_and_subsets_are_drawn_by_seed()
    {
        var configs = Options("synthetic", "synthetic", "full", "snapkv").Configs();
        Assert.Equal(["retained/full/1", "retained/snapkv/0.2", "retained/snapkv/0.5"], configs.Select(c => c.Key));
        var episodes = Enumerable.Range(0, 20).Select(i => new StarKv.Eval.Core.Benchmarks.EvalEpisode($"e{i}", "", [], new Dictionary<string, string>())).ToList();
        var a = EvaluationRunner.Select(episodes, 5, 1).Select(e => e.Id).ToList();
        Assert.Equal(a, EvaluationRunner.Select(episodes, 5, 1).Select(e => e.Id));
        Assert.NotEqual(a, EvaluationRunner.Select(episodes, 5, 2).Select(e => e.Id));
        Assert.Equal(episodes, EvaluationRunner.Select(episodes, null, 1));
    }
}
