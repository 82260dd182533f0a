using System.Globalization;
using System.Text;
using StarKv.Eval.Core.Benchmarks;

namespace StarKv.Eval.Core.Graders;

/// <summary>The AndroidControl step rules a run can choose; results name the one used.</summary>
public enum AndroidControlRule
{
    /// <summary>Element box (UGround offline evaluation, GUI-KV): the default.</summary>
    ElementBox,

    /// <summary>OS-Atlas: a click within 140 of the 0–1000 frame ("14 % of the screen").</summary>
    Distance14,

    /// <summary>STaR-KV's relaxed rule (not comparable with the others).</summary>
    Relaxed,
}

/// <summary>
/// AndroidControl step accuracy by the element box, as UGround <c>offline_evaluation/AndroidControl/eval.py</c> and
/// GUI-KV <c>eval/androidcontrol_eval.py</c> grade it: the target is the smallest element containing the ground-truth
/// point; a click or long press is right when its type matches and its point (mapped to original pixels) lies in the
/// target's box (edges inclusive; no target → wrong); a typed text is right when it equals the ground truth after
/// trimming (UI-TARS's <c>type</c> carries no point, so the text alone decides: GUI-KV's driver scored every such
/// step 0, which is not reproduced); a click counts for <c>open_app</c> when the smallest element under it has a
/// label containing the app name (case-insensitive), and for <c>navigate_back</c> when it contains "back";
/// <c>press_back</c> is <c>navigate_back</c>; a scroll needs the same direction, <c>finished</c> the same goal status
/// (<see cref="AndroidPrediction.GoalStatus"/>), <c>open_app</c> the same app name (case-insensitive); <c>wait</c> and
/// <c>navigate_home</c> the type alone. Steps of the OS-Atlas export carry no element list and are refused by this rule.
/// </summary>
public sealed class AndroidElementBoxGrader : IStepGrader
{
    public string Name => "element-box";

    public string Source => "UGround offline_evaluation/AndroidControl/eval.py; GUI-KV eval/androidcontrol_eval.py";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (AndroidControlTruth)step.Truth;
        var gt = truth.Action;
        if (AndroidPrediction.From(prediction) is not { } pred)
        {
            return StepGrade.Wrong("wrong format");
        }

        switch (gt.Type)
        {
            case "click" or "long_press":
                if (pred.Type != gt.Type)
                {
                    return StepGrade.Wrong($"expected {gt.Type}, got {pred.Type}");
                }

                if (truth.PixelPoint(prediction.OriginalWidth, prediction.OriginalHeight) is not { } gtPoint
                    || AndroidControlTruth.SmallestContaining(truth.Elements, gtPoint.X, gtPoint.Y) is not { } target)
                {
                    return StepGrade.Wrong("no target element under the ground-truth point");
                }

                return target.Box.Contains(pred.X!.Value, pred.Y!.Value) ? StepGrade.Right("in target element") : StepGrade.Wrong("outside target element");
            case "type_text":
                return pred.Type == "type_text" && string.Equals(pred.Text!.Trim(), (gt.Text ?? "").Trim(), StringComparison.Ordinal)
                    ? StepGrade.Right("same text")
                    : StepGrade.Wrong(pred.Type == "type_text" ? "other text" : $"expected type_text, got {pred.Type}");
            case "open_app" when pred.Type == "click":
                return ClickedLabelContains(truth, pred, gt.AppName ?? "") ? StepGrade.Right("clicked the app") : StepGrade.Wrong("clicked elsewhere");
            case "navigate_back" when pred.Type == "click":
                return ClickedLabelContains(truth, pred, "back") ? StepGrade.Right("clicked back") : StepGrade.Wrong("clicked elsewhere");
            default:
                return SameNonPointerAction(gt, pred);
        }
    }

    /// <summary>The type-and-value comparison of the non-pointer actions shared by the element-box rule.</summary>
    internal static StepGrade SameNonPointerAction(AndroidAction gt, AndroidAction pred)
    {
        if (pred.Type != gt.Type)
        {
            return StepGrade.Wrong($"expected {gt.Type}, got {pred.Type}");
        }

        return gt.Type switch
        {
            "scroll" => string.Equals(pred.Direction, gt.Direction, StringComparison.OrdinalIgnoreCase) ? StepGrade.Right("same direction") : StepGrade.Wrong("other direction"),
            "status" => string.Equals(pred.GoalStatus, gt.GoalStatus, StringComparison.OrdinalIgnoreCase) ? StepGrade.Right("same status") : StepGrade.Wrong("other status"),
            "open_app" => string.Equals((pred.AppName ?? "").Trim(), (gt.AppName ?? "").Trim(), StringComparison.OrdinalIgnoreCase) ? StepGrade.Right("same app") : StepGrade.Wrong("other app"),
            _ => StepGrade.Right("same type"),
        };
    }

    private static bool ClickedLabelContains(AndroidControlTruth truth, AndroidAction click, string needle) =>
        needle.Length > 0 && click.HasPoint
        && AndroidControlTruth.SmallestContaining(truth.Elements, click.X!.Value, click.Y!.Value) is { } element
        && (element.Text.Contains(needle, StringComparison.OrdinalIgnoreCase) || element.ContentDescription.Contains(needle, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// AndroidControl step accuracy as the OS-Atlas evaluator grades it (OS-Atlas
/// <c>eval/eval_scripts/android_control/evaluation_unify.py</c>): actions in its vocabulary (CLICK, LONG_PRESS, TYPE,
/// SCROLL, OPEN_APP, PRESS_BACK, PRESS_HOME, WAIT, COMPLETE) must have the same type; a click or long press is right
/// when the Euclidean distance between predicted and true points in the 0–1000 frame (each axis normalised by its
/// own extent) is at most 140; TYPE and OPEN_APP texts are right when equal or when their first words are equal (the
/// evaluator's token F1 looks at the first token only; kept for parity); SCROLL needs the same direction; the rest
/// need the type alone.
/// </summary>
public sealed class AndroidDistanceGrader : IStepGrader
{
    /// <summary>"14 % of the screen" in the 0–1000 frame (OS-Atlas evaluation_unify.py).</summary>
    public const double Threshold = 140;

    public string Name => "distance-14";

    public string Source => "OS-Atlas eval/eval_scripts/android_control/evaluation_unify.py";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (AndroidControlTruth)step.Truth;
        var gt = truth.Action;
        if (AndroidPrediction.From(prediction) is not { } pred)
        {
            return StepGrade.Wrong("wrong format");
        }

        string gtType = AtlasType(gt.Type), predType = AtlasType(pred.Type);
        if (gtType != predType)
        {
            return StepGrade.Wrong($"expected {gtType}, got {predType}");
        }

        switch (gtType)
        {
            case "CLICK" or "LONG_PRESS":
                if (truth.PixelPoint(prediction.OriginalWidth, prediction.OriginalHeight) is not { } gtPoint || !pred.HasPoint)
                {
                    return StepGrade.Wrong("no point");
                }

                double dx = (pred.X!.Value - gtPoint.X) / prediction.OriginalWidth * 1000, dy = (pred.Y!.Value - gtPoint.Y) / prediction.OriginalHeight * 1000;
                var distance = Math.Sqrt((dx * dx) + (dy * dy));
                return distance <= Threshold
                    ? StepGrade.Right(FormattableString.Invariant($"distance {distance:0.#} of 1000"))
                    : StepGrade.Wrong(FormattableString.Invariant($"distance {distance:0.#} of 1000"));
            case "TYPE" or "OPEN_APP":
                var expected = (gtType == "TYPE" ? gt.Text : gt.AppName) ?? "";
                var actual = (gtType == "TYPE" ? pred.Text : pred.AppName) ?? "";
                return string.Equals(expected.Trim(), actual.Trim(), StringComparison.Ordinal) || FirstWord(expected) == FirstWord(actual) && FirstWord(expected).Length > 0
                    ? StepGrade.Right("same text (or first word)")
                    : StepGrade.Wrong("other text");
            case "SCROLL":
                return string.Equals(gt.Direction, pred.Direction, StringComparison.OrdinalIgnoreCase) ? StepGrade.Right("same direction") : StepGrade.Wrong("other direction");
            default:
                return StepGrade.Right("same type");
        }
    }

    private static string FirstWord(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";

    private static string AtlasType(string type) => type switch
    {
        "click" => "CLICK",
        "long_press" => "LONG_PRESS",
        "type_text" => "TYPE",
        "scroll" => "SCROLL",
        "open_app" => "OPEN_APP",
        "navigate_back" => "PRESS_BACK",
        "navigate_home" => "PRESS_HOME",
        "wait" => "WAIT",
        "status" => "COMPLETE",
        _ => type.ToUpperInvariant(),
    };
}

/// <summary>
/// STaR-KV's relaxed AndroidControl rule (STaR-KV <c>eval/androidcontrol_eval.py</c>); numbers under it are not
/// comparable with the other rules. Click and long press are interchangeable; a point is right inside the target
/// element inflated by <c>max(8, 0.015·min(W, H))</c> pixels, or within L∞ distance <c>max(72, 0.10·min(W, H))</c> of
/// the ground-truth point (also when there is no element); a type step is graded by its text alone, normalised
/// (NFKC, lower case, whitespace collapsed, apostrophes removed) and accepted when equal, equal without spaces for an
/// e-mail, off by one digit in a 4–8-digit number, or one containing the other when the shorter has at least 5
/// characters; a scroll needs only the same axis; <c>open_app</c> accepts the same (normalised) app name or a click
/// on an element whose label contains it; <c>navigate_back</c> accepts <c>press_back</c>, a click on a "back" /
/// "navigate up" element or in the top-left toolbar region (x ≤ 0.16 W, y ≤ 0.46 H); status and the rest as the
/// element-box rule. STaR-KV's further open_app heuristics (app-name tokens in goal or history, screen regions) are
/// not implemented.
/// </summary>
public sealed class AndroidRelaxedGrader : IStepGrader
{
    public string Name => "relaxed";

    public string Source => "STaR-KV eval/androidcontrol_eval.py (relaxed rule)";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (AndroidControlTruth)step.Truth;
        var gt = truth.Action;
        if (AndroidPrediction.From(prediction) is not { } pred)
        {
            return StepGrade.Wrong("wrong format");
        }

        int width = prediction.OriginalWidth, height = prediction.OriginalHeight;
        var shorter = Math.Min(width, height);
        switch (gt.Type)
        {
            case "click" or "long_press":
                if (pred.Type is not ("click" or "long_press") || !pred.HasPoint)
                {
                    return StepGrade.Wrong($"expected a click, got {pred.Type}");
                }

                var margin = Math.Max(8, 0.015 * shorter);
                var tolerance = Math.Max(72, 0.10 * shorter);
                if (truth.PixelPoint(width, height) is not { } gtPoint)
                {
                    return StepGrade.Wrong("no ground-truth point");
                }

                if (AndroidControlTruth.SmallestContaining(truth.Elements, gtPoint.X, gtPoint.Y) is { } target
                    && target.Box.Inflate(margin).Contains(pred.X!.Value, pred.Y!.Value))
                {
                    return StepGrade.Right("in inflated target element");
                }

                return Math.Max(Math.Abs(pred.X!.Value - gtPoint.X), Math.Abs(pred.Y!.Value - gtPoint.Y)) <= tolerance
                    ? StepGrade.Right("within distance")
                    : StepGrade.Wrong("too far");
            case "type_text":
                return pred.Type == "type_text" && TextMatches(pred.Text ?? "", gt.Text ?? "") ? StepGrade.Right("text matches") : StepGrade.Wrong("other text");
            case "scroll":
                return pred.Type == "scroll" && Axis(pred.Direction) == Axis(gt.Direction) && Axis(gt.Direction) != "" ? StepGrade.Right("same axis") : StepGrade.Wrong("other scroll");
            case "open_app":
                if (pred.Type == "open_app")
                {
                    return TextMatches(pred.AppName ?? "", gt.AppName ?? "") ? StepGrade.Right("same app") : StepGrade.Wrong("other app");
                }

                return pred.Type == "click" && pred.HasPoint && AndroidControlTruth.SmallestContaining(truth.Elements, pred.X!.Value, pred.Y!.Value) is { } app
                    && Normalize(app.Label).Contains(Normalize(gt.AppName ?? "\u0000"), StringComparison.Ordinal)
                    ? StepGrade.Right("clicked the app")
                    : StepGrade.Wrong("not the app");
            case "navigate_back":
                if (pred.Type == "navigate_back")
                {
                    return StepGrade.Right("back");
                }

                if (pred.Type == "click" && pred.HasPoint)
                {
                    if (pred.X <= 0.16 * width && pred.Y <= 0.46 * height)
                    {
                        return StepGrade.Right("tap in the top-left toolbar");
                    }

                    if (AndroidControlTruth.SmallestContaining(truth.Elements, pred.X!.Value, pred.Y!.Value) is { } element)
                    {
                        var label = Normalize(element.Label);
                        if (label.Contains("navigate up", StringComparison.Ordinal) || label.Contains("go back", StringComparison.Ordinal)
                            || label.Split(' ').Contains("back"))
                        {
                            return StepGrade.Right("clicked back");
                        }
                    }
                }

                return StepGrade.Wrong($"expected navigate_back, got {pred.Type}");
            default:
                return AndroidElementBoxGrader.SameNonPointerAction(gt, pred);
        }
    }

    /// <summary>NFKC, lower case, apostrophes removed, whitespace collapsed to single spaces, trimmed.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var folded = text.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Replace("'", "", StringComparison.Ordinal).Replace("\u2019", "", StringComparison.Ordinal);
        return string.Join(' ', folded.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>STaR-KV's relaxed text match (see the type summary).</summary>
    public static bool TextMatches(string predicted, string expected)
    {
        string p = Normalize(predicted), g = Normalize(expected);
        if (p == g)
        {
            return true;
        }

        if (g.Contains('@', StringComparison.Ordinal) && p.Replace(" ", "", StringComparison.Ordinal) == g.Replace(" ", "", StringComparison.Ordinal))
        {
            return true;
        }

        if (p.Length == g.Length && p.Length is >= 4 and <= 8 && p.All(char.IsAsciiDigit) && g.All(char.IsAsciiDigit)
            && p.Zip(g).Count(pair => pair.First != pair.Second) == 1)
        {
            return true;
        }

        var (shorterText, longer) = p.Length <= g.Length ? (p, g) : (g, p);
        return shorterText.Length >= 5 && longer.Contains(shorterText, StringComparison.Ordinal);
    }

    private static string Axis(string? direction) => direction?.ToLower(CultureInfo.InvariantCulture) switch
    {
        "up" or "down" => "vertical",
        "left" or "right" => "horizontal",
        _ => "",
    };
}
