using StarKv.Eval.Core.Benchmarks;
using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Core.Graders;

/// <summary>How an AndroidControl action's point is written: screenshot pixels (UGround export) or 0–1000 (OS-Atlas export).</summary>
public enum AndroidPointFrame
{
    Pixels,
    Normalized1000,
}

/// <summary>
/// One AndroidControl action in the UGround vocabulary (<c>click</c>, <c>long_press</c>, <c>type_text</c>, <c>scroll</c>,
/// <c>open_app</c>, <c>navigate_back</c>, <c>navigate_home</c>, <c>wait</c>, <c>status</c>), the canonical record both
/// exports convert to.
/// </summary>
public sealed record AndroidAction(string Type, double? X = null, double? Y = null, string? Text = null, string? Direction = null, string? AppName = null, string? GoalStatus = null)
{
    public bool HasPoint => X.HasValue && Y.HasValue;
}

/// <summary>An element of the step's accessibility list: its box in pixels and its labels.</summary>
public sealed record AndroidElement(BoxXyxy Box, string Text, string ContentDescription)
{
    public string Label => (Text + " " + ContentDescription).Trim();
}

/// <summary>AndroidControl ground truth: the action, its point frame, and the element list (empty in the OS-Atlas export).</summary>
public sealed record AndroidControlTruth(AndroidAction Action, AndroidPointFrame Frame, IReadOnlyList<AndroidElement> Elements) : StepTruth
{
    /// <summary>The ground-truth point in pixels of a <paramref name="width"/> × <paramref name="height"/> screenshot, or null.</summary>
    public (double X, double Y)? PixelPoint(int width, int height) => Action.HasPoint
        ? Frame == AndroidPointFrame.Pixels ? (Action.X!.Value, Action.Y!.Value) : (Action.X!.Value / 1000.0 * width, Action.Y!.Value / 1000.0 * height)
        : null;

    /// <summary>
    /// The target element: among the elements whose box contains the point, the one of smallest area, the first on
    /// ties (UGround <c>offline_evaluation/AndroidControl/eval.py</c>, GUI-KV <c>eval/androidcontrol_eval.py</c>).
    /// </summary>
    public static AndroidElement? SmallestContaining(IReadOnlyList<AndroidElement> elements, double x, double y)
    {
        ArgumentNullException.ThrowIfNull(elements);
        AndroidElement? best = null;
        foreach (var element in elements)
        {
            if (element.Box.Contains(x, y) && (best is null || element.Box.Area < best.Box.Area))
            {
                best = element;
            }
        }

        return best;
    }
}

/// <summary>Turns a UI-TARS mobile answer into the AndroidControl vocabulary, with its point in original pixels.</summary>
public static class AndroidPrediction
{
    /// <summary>
    /// <c>click</c>, <c>long_press</c>, <c>type</c> → <c>type_text</c>, <c>scroll</c>, <c>open_app</c>, <c>press_back</c>
    /// → <c>navigate_back</c>, <c>press_home</c> → <c>navigate_home</c>, <c>wait</c>, <c>finished</c> → <c>status</c>
    /// (<see cref="GoalStatus"/>); anything else keeps its verb and matches nothing.
    /// </summary>
    public static AndroidAction? From(ModelPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var point = prediction.OriginalPoint;
        return prediction.Action switch
        {
            null => null,
            ClickAction => new AndroidAction("click", point?.X, point?.Y),
            LongPressAction => new AndroidAction("long_press", point?.X, point?.Y),
            TypeAction t => new AndroidAction("type_text", Text: t.Content),
            ScrollAction s => new AndroidAction("scroll", point?.X, point?.Y, Direction: s.Direction.ToString().ToLowerInvariant()),
            OpenAppAction o => new AndroidAction("open_app", AppName: o.AppName),
            PressBackAction => new AndroidAction("navigate_back"),
            PressHomeAction => new AndroidAction("navigate_home"),
            WaitAction => new AndroidAction("wait"),
            FinishedAction f => new AndroidAction("status", GoalStatus: GoalStatus(f.Content)),
            var other => new AndroidAction(other.Verb, point?.X, point?.Y),
        };
    }

    /// <summary>
    /// <c>finished</c> content as a goal status (GUI-KV <c>eval/androidcontrol_eval.py</c>): <c>infeasible</c> when it
    /// contains unsuccessful, infeasible, impossible, cannot, can't, unable, fail or error; else <c>successful</c>.
    /// </summary>
    public static string GoalStatus(string? content)
    {
        var text = (content ?? "").ToLowerInvariant();
        string[] negative = ["unsuccessful", "infeasible", "impossible", "cannot", "can't", "unable", "fail", "error"];
        return negative.Any(word => text.Contains(word, StringComparison.Ordinal)) ? "infeasible" : "successful";
    }
}
