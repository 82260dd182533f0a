using StarKv.Eval.Core.Benchmarks;
using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Core.Graders;

/// <summary>The action a synthetic step expects.</summary>
public enum SyntheticActionType
{
    Click,
    Type,
    Scroll,
    Finished,
}

/// <summary>
/// Ground truth of one step of the project's synthetic suite: a click inside <see cref="Box"/> (original pixels,
/// edges inclusive), typing <see cref="Content"/>, a scroll in <see cref="Direction"/> (its optional box is not
/// graded) or finishing. <see cref="Width"/> × <see cref="Height"/> is the screenshot's size from the task file.
/// </summary>
public sealed record SyntheticTruth(SyntheticActionType Type, BoxXyxy? Box, string? Content, ScrollDirection? Direction, int Width, int Height) : StepTruth;

/// <summary>
/// The synthetic suite's step rule (the suite's own specification, <c>eval/README.md</c>): click = the parsed verb
/// is <c>click</c> and its point, mapped from the resized image to the original by the runtime's smart_resize ratio,
/// lies in the box, edges inclusive; type = verb <c>type</c> with content equal after trimming; scroll = verb
/// <c>scroll</c> with the same direction; finished = verb <c>finished</c>.
/// </summary>
public sealed class SyntheticGrader : IStepGrader
{
    public string Name => "synthetic-exact";

    public string Source => "StarKV synthetic suite specification (eval/README.md)";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (SyntheticTruth)step.Truth;
        var action = prediction.Action;
        if (action is null)
        {
            return StepGrade.Wrong("wrong format");
        }

        return truth.Type switch
        {
            SyntheticActionType.Click when action is ClickAction click =>
                prediction.Inside(click.At, truth.Box!.Value, truth.Width, truth.Height) ? StepGrade.Right("click in box") : StepGrade.Wrong("click outside box"),
            SyntheticActionType.Type when action is TypeAction type =>
                string.Equals(type.Content.Trim(), (truth.Content ?? "").Trim(), StringComparison.Ordinal) ? StepGrade.Right("same text") : StepGrade.Wrong("other text"),
            SyntheticActionType.Scroll when action is ScrollAction scroll =>
                scroll.Direction == truth.Direction ? StepGrade.Right("same direction") : StepGrade.Wrong("other direction"),
            SyntheticActionType.Finished when action is FinishedAction => StepGrade.Right("finished"),
            _ => StepGrade.Wrong($"expected {truth.Type.ToString().ToLowerInvariant()}, got {action.Verb}"),
        };
    }
}
