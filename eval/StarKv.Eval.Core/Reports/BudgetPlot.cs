using StarKv.Eval.Core.Runner;

namespace StarKv.Eval.Core.Reports;

/// <summary>Accuracy against the KV budget, one line per method (the full cache as a horizontal line), ScottPlot 5.</summary>
public static class BudgetPlot
{
    public const int Width = 800;
    public const int Height = 500;

    public static string FileName(string mode) => $"accuracy-vs-budget-{mode}.png";

    /// <summary>Writes the plot of one mode's summaries.</summary>
    public static void Write(string path, string title, string headline, IReadOnlyList<ConfigSummary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var plot = new ScottPlot.Plot();
        var budgets = summaries.Where(s => !EvalOptions.IsFull(s.Config.Method)).Select(s => s.Config.Budget * 100).Distinct().Order().ToArray();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var group in summaries.GroupBy(s => s.Config.Method))
        {
            var color = palette.GetColor(index++);
            if (EvalOptions.IsFull(group.Key))
            {
                if (group.First().Headline is { } full)
                {
                    var line = plot.Add.HorizontalLine(full * 100);
                    line.LegendText = "full";
                    line.Color = color;
                    line.LinePattern = ScottPlot.LinePattern.Dashed;
                }

                continue;
            }

            var points = group.Where(s => s.Headline.HasValue).OrderBy(s => s.Config.Budget).ToList();
            var scatter = plot.Add.Scatter(points.Select(s => s.Config.Budget * 100).ToArray(), points.Select(s => s.Headline!.Value * 100).ToArray());
            scatter.LegendText = group.Key;
            scatter.Color = color;
            scatter.MarkerSize = 8;
            scatter.LineWidth = 2;
        }

        plot.Title(title);
        plot.XLabel("KV budget (% of the tokens seen)");
        plot.YLabel($"{headline} (%)");
        plot.Axes.SetLimitsY(0, 100);
        if (budgets.Length > 0)
        {
            plot.Axes.SetLimitsX(0, Math.Min(100, budgets[^1] + 10));
        }

        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }
}
