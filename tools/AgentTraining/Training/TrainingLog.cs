using System.Globalization;
using System.Text.Json;
using ScottPlot;

namespace StarKv.AgentTraining.Training;

/// <summary>One line of the training log.</summary>
public sealed record LogEntry
{
    public required int Step { get; init; }

    public required double LearningRate { get; init; }

    public required double Seconds { get; init; }

    public BatchLosses? Losses { get; init; }

    public double GradientNorm { get; init; }

    public ValidationResult? Validation { get; init; }

    /// <summary>Whether the step ran without a garbage collection (<see cref="Compression.Tensors.QuietGcRegion"/>).</summary>
    public bool? QuietGc { get; init; }
}

/// <summary>The run's log (<c>training-log.jsonl</c>, one entry per line) and its curve (<c>training-curve.png</c>).</summary>
public sealed class TrainingLog
{
    private static readonly JsonSerializerOptions Compact = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly string _path;

    public TrainingLog(string folder)
    {
        _path = Path.Combine(folder, "training-log.jsonl");
        CurvePath = Path.Combine(folder, "training-curve.png");
    }

    public string CurvePath { get; }

    public void Append(LogEntry entry) => File.AppendAllText(_path, JsonSerializer.Serialize(entry, Compact) + "\n");

    public IReadOnlyList<LogEntry> Read() => File.Exists(_path)
        ? File.ReadAllLines(_path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<LogEntry>(l, Compact)!).ToList()
        : [];

    /// <summary>Drops entries after <paramref name="step"/> (a resumed run repeats them).</summary>
    public void TruncateAfter(int step)
    {
        var kept = Read().Where(e => e.Step <= step).Select(e => JsonSerializer.Serialize(e, Compact));
        File.WriteAllLines(_path, kept);
    }

    /// <summary>Plots the losses (smoothed over 50 steps) and the validation accuracies against the step.</summary>
    public void PlotCurve()
    {
        var entries = Read();
        var losses = entries.Where(e => e.Losses is not null).ToList();
        if (losses.Count == 0)
        {
            return;
        }

        var plot = new Plot();
        double[] steps = [.. losses.Select(e => (double)e.Step)];
        void Line(string label, Func<BatchLosses, double> value)
        {
            var series = Smooth([.. losses.Select(e => value(e.Losses!))], 50);
            var line = plot.Add.ScatterLine(steps, series);
            line.LegendText = label;
        }

        Line("total loss", l => l.Total);
        Line("reply CE", l => l.Reply);
        Line("digit CE", l => l.Digits);
        Line("attention", l => l.Attention);
        Line("inside", l => l.Inside);
        Line("position", l => l.Position);
        Line("screen content", l => l.Content);
        plot.YLabel("loss (50-step mean)");
        plot.XLabel("step");

        var validations = entries.Where(e => e.Validation is not null).ToList();
        if (validations.Count > 0)
        {
            var right = plot.Axes.AddRightAxis();
            right.LabelText = "validation accuracy";
            double[] vs = [.. validations.Select(e => (double)e.Step)];
            void Accuracy(string label, Func<ValidationResult, double> value)
            {
                var line = plot.Add.ScatterLine(vs, [.. validations.Select(e => value(e.Validation!))]);
                line.LegendText = label;
                line.LineWidth = 2;
                line.Axes.YAxis = right;
            }

            Accuracy("grounding accuracy", v => v.Grounding);
            Accuracy("memory accuracy", v => v.Memory);
            Accuracy("action accuracy", v => v.Action);
        }

        // Upper centre: the losses have fallen below a fifth of their start there, and the validation points sit at the right.
        plot.ShowLegend(ScottPlot.Alignment.UpperCenter);
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Tiny GUI agent training ({losses[^1].Step + 1} steps)"));
        plot.SavePng(CurvePath, 1000, 600);
    }

    private static double[] Smooth(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window)
            {
                sum -= values[i - window];
            }

            result[i] = sum / Math.Min(i + 1, window);
        }

        return result;
    }
}
