using System.Globalization;
using Spectre.Console;
using StarKv.Eval.Core.Runner;

namespace StarKv.Eval;

/// <summary>One progress bar per configuration, its description showing the running accuracy.</summary>
internal sealed class SpectreProgress(ProgressContext context) : IEvalProgress
{
    private readonly Dictionary<string, ProgressTask> _tasks = [];

    public void Started(IReadOnlyList<RunConfig> configs, int episodes, IReadOnlyDictionary<string, int> alreadyDone)
    {
        foreach (var config in configs)
        {
            var task = context.AddTask(Label(config, null), maxValue: Math.Max(1, episodes));
            task.Value = alreadyDone.GetValueOrDefault(config.Key);
            _tasks[config.Key] = task;
        }
    }

    public void EpisodeFinished(RunConfig config, int done, double? accuracy)
    {
        var task = _tasks[config.Key];
        task.Value = done;
        task.Description = Label(config, accuracy);
    }

    public void Message(string text) => AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[grey]{text}[/]");

    private static string Label(RunConfig config, double? accuracy) =>
        Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{config.ModeName,-9} {config.Method,-15} {config.BudgetLabel,5}  acc {(accuracy is { } a ? $"{a * 100,5:0.0}%" : "    –")}"));
}
