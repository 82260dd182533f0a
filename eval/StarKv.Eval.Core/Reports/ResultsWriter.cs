using System.Globalization;
using System.Text;
using System.Text.Json;
using StarKv.Eval.Core.Runner;

namespace StarKv.Eval.Core.Reports;

/// <summary>Writes <c>results.json</c>, <c>results.md</c> and the plots of a finished run.</summary>
public static class ResultsWriter
{
    public static void Write(EvalReport report, EvalOptions options, string headline)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(options);
        var json = new
        {
            benchmark = report.Benchmark,
            layout = report.Layout,
            grader = new { name = report.GraderName, source = report.GraderSource },
            model = report.Model,
            device = options.Device,
            seed = options.Seed,
            limit = options.Limit,
            episodes = report.Episodes,
            maxNewTokens = options.MaxNewTokens,
            tupleSpace = options.TupleSpace.ToString(),
            configs = report.Summaries.Select(s => new
            {
                mode = s.Config.ModeName,
                method = s.Config.Method,
                budget = s.Config.Budget,
                episodes = s.Episodes,
                summary = s.Cells.Select(c => new { column = c.Column, value = c.Value, count = c.Count }),
                kvBytesMean = s.KvBytesMean,
                fullKvBytesMean = s.FullKvBytesMean,
                kvRatio = s.KvRatio,
                stepMsMean = s.StepMsMean,
            }),
            samples = report.Records,
        };
        File.WriteAllText(report.ResultsJson, JsonSerializer.Serialize(json, ResultStore.IndentedJson));
        File.WriteAllText(report.Table, Markdown(report));
        foreach (var mode in report.Summaries.Select(s => s.Config.ModeName).Distinct())
        {
            BudgetPlot.Write(
                Path.Combine(Path.GetDirectoryName(report.ResultsJson)!, BudgetPlot.FileName(mode)),
                $"{report.Benchmark} · {report.Model} · {mode} cache · {report.Episodes} episodes",
                headline,
                report.Summaries.Where(s => s.Config.ModeName == mode).ToList());
        }
    }

    /// <summary>One table per mode: method × budget rows, the benchmark's columns (percent), KV held and its share of the full cache.</summary>
    public static string Markdown(EvalReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# {report.Benchmark}: accuracy under KV compression\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Model `{report.Model}`, {report.Episodes} episodes, layout: {report.Layout}. Grader `{report.GraderName}` ({report.GraderSource}).\n");
        foreach (var mode in report.Summaries.GroupBy(s => s.Config.ModeName))
        {
            var columns = mode.First().Cells.Select(c => c.Column).ToList();
            text.Append(CultureInfo.InvariantCulture, $"\n## {mode.Key} cache\n\n");
            text.Append("| method | budget | ").AppendJoin(" | ", columns).Append(" | KV held (mean) | vs full | step (ms) |\n");
            text.Append("|---|---|").Append(string.Concat(Enumerable.Repeat("---|", columns.Count))).Append("---|---|---|\n");
            foreach (var summary in mode)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {summary.Config.Method} | {summary.Config.BudgetLabel} | ");
                foreach (var cell in summary.Cells)
                {
                    text.Append(cell.Value is { } value ? string.Create(CultureInfo.InvariantCulture, $"{value * 100:0.0}") : "–")
                        .Append(CultureInfo.InvariantCulture, $" ({cell.Count}) | ");
                }

                text.Append(CultureInfo.InvariantCulture, $"{Bytes(summary.KvBytesMean)} | {summary.KvRatio * 100:0.0} % | {summary.StepMsMean:0} |\n");
            }
        }

        text.Append("\nValues are percentages with the number of samples (steps or episodes) each averages in parentheses.\n");
        return text.ToString();
    }

    public static string Bytes(double bytes) => bytes switch
    {
        >= 1 << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 30):0.00} GiB"),
        >= 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 20):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:0.0} KiB"),
    };
}
