using StarKv.Compression.Tensors;
using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.AgentTraining.Training;

/// <summary>Accuracy of a checkpoint on tasks, by kind (a task counts by its last step).</summary>
public sealed record ValidationResult(double Grounding, double Memory, double Action, int Tasks);

/// <summary>
/// Runs tasks through real agent sessions of a loaded checkpoint (full cache, greedy decoding, the model's own replies
/// in the history) and grades each step: a click inside the box (coordinates read as resized-image pixels and mapped
/// back), a typed text equal to the expected one, a scroll in the expected direction, or finished.
/// </summary>
public static class SuiteValidation
{
    public static ValidationResult Run(Qwen25VlRuntime runtime, IReadOnlyList<SuiteTask> tasks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(tasks);
        var correct = new Dictionary<TaskKind, (int Right, int All)>();
        foreach (var task in tasks)
        {
            using var session = runtime.CreateSession(new SessionOptions { Method = "full", BudgetRatio = 1.0, Task = task.TaskText, MaxNewTokens = 64 });
            var last = false;
            foreach (var step in task.Steps)
            {
                var screenshot = ScreenPainter.RenderPng(step.Screen);
                using var quiet = new QuietGcRegion();
                var outcome = session.Step(screenshot, step.Instruction, cancellationToken);
                last = IsCorrect(outcome, step.Expected);
            }

            var (right, all) = correct.GetValueOrDefault(task.Kind);
            correct[task.Kind] = (right + (last ? 1 : 0), all + 1);
        }

        double Rate(TaskKind kind) => correct.TryGetValue(kind, out var c) && c.All > 0 ? c.Right / (double)c.All : double.NaN;
        return new ValidationResult(Rate(TaskKind.Grounding), Rate(TaskKind.Memory), Rate(TaskKind.Action), tasks.Count);
    }

    public static bool IsCorrect(StepOutcome outcome, ExpectedAction expected)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(expected);
        var mapping = CoordinateMapping.For(outcome.ScreenshotWidth, outcome.ScreenshotHeight, outcome.ResizedWidth, outcome.ResizedHeight);
        var parsed = UiTarsActionParser.Parse(outcome.Text, mapping, CoordinateSpace.ResizedPixels);
        if (!parsed.IsSuccess || parsed.Actions.Count == 0)
        {
            return false;
        }

        return (expected, parsed.Actions[0]) switch
        {
            (ClickExpected e, ClickAction a) => e.Box.Contains(a.At.X, a.At.Y),
            (TypeExpected e, TypeAction a) => string.Equals(e.Content.Trim(), a.Content.Trim(), StringComparison.Ordinal),
            (ScrollExpected e, ScrollAction a) => string.Equals(e.Direction, a.Direction.ToString(), StringComparison.OrdinalIgnoreCase),
            (FinishedExpected, FinishedAction) => true,
            _ => false,
        };
    }
}
