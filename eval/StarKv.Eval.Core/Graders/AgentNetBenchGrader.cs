using StarKv.Eval.Core.Benchmarks;
using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Core.Graders;

/// <summary>
/// One AgentNetBench ground-truth action (<c>{type, params, metadata}</c>): its type as written (<c>click</c>,
/// <c>doubleClick</c>, <c>moveTo</c>, <c>write</c>, <c>press</c>, <c>hotkey</c>, <c>scroll</c>, <c>terminate</c>, ...),
/// its relative position, its relative boxes <c>[x, y, w, h]</c>, text, keys and terminate status.
/// </summary>
public sealed record AgentNetAction(string Type, double? X = null, double? Y = null, IReadOnlyList<BoxXyxy>? RelativeBoxes = null, string? Text = null, IReadOnlyList<string>? Keys = null, string? Status = null)
{
    public string LowerType => Type.ToLowerInvariant();
}

/// <summary>A predicted action in the grader's representation: a lower-case type and its value.</summary>
public sealed record AgentNetPredicted(string Type, double X = 0, double Y = 0, string? Text = null, IReadOnlyList<string>? Keys = null, string? Status = null);

/// <summary>AgentNetBench ground truth of one step: the ordered actions, the alternative option lists, the milestone flag.</summary>
public sealed record AgentNetTruth(IReadOnlyList<AgentNetAction> Actions, IReadOnlyList<IReadOnlyList<AgentNetAction>> Alternatives, bool Milestone) : StepTruth
{
    /// <summary>The step's category by its first ground-truth action: coordinate, content or function (the README table's columns; mapping unconfirmed).</summary>
    public string Category => Actions.Count == 0 ? "" : Actions[0].LowerType switch
    {
        "write" or "press" or "hotkey" => "content",
        "terminate" => "function",
        _ => "coordinate",
    };
}

/// <summary>
/// AgentNetBench's official continuous step score (OpenCUA <c>evaluation/agentnetbench/eval.py</c>
/// <c>ActionEvaluator.evaluate_action</c> and <c>run.py</c>), in [0, 1]:
/// empty lists score 0; a <c>write</c> followed by a single <c>enter</c>/<c>return</c> key merges into one write
/// ending in a newline (ground truth: after <c>press</c> or <c>hotkey</c>; prediction: after <c>press</c>), on copies;
/// a ground truth starting with <c>terminate</c> needs a first predicted <c>terminate</c> with the same status; the
/// first predicted type must be among the ground-truth types; then ground-truth action i is compared with predicted
/// action i: pointer actions score 1 inside any relative box (edges inclusive) or <c>exp(−120·(d − 0.01·√2))</c> by
/// relative distance d (1 when d ≤ 0.01·√2); <c>write</c> scores 1 when the edit similarity of the lower-cased,
/// trimmed texts reaches 0.8, else similarity / 0.8; keys need equal lower-cased sets; <c>scroll</c> scores 1; the
/// scores are averaged per type, then over types; when below 1, each alternative option list is scored the same way
/// and the best kept. A UI-TARS answer maps as GUI-KV <c>eval/agentnetbench_eval.py</c> does (click and long_press →
/// click, left_double → doubleclick, right_single → rightclick, drag → dragto at its end, type → write, scroll, wait →
/// nothing, press_back → press escape, finished → terminate success when its content says "success", else failure),
/// except that hotkeys keep <c>ctrl</c> (GUI-KV renamed it <c>control</c>, which never equals a ground truth) and a
/// one-key hotkey is a <c>press</c>.
/// </summary>
public sealed class AgentNetBenchGrader : IStepGrader
{
    /// <summary>0.01·√2 (eval.py COORD_THRESHOLD).</summary>
    public static readonly double CoordinateThreshold = 0.01 * Math.Sqrt(2);

    /// <summary>eval.py ALPHA.</summary>
    public const double Alpha = 120;

    /// <summary>eval.py WRITE_SIMILARITY_THRESHOLD.</summary>
    public const double WriteThreshold = 0.8;

    private static readonly string[] PointerTypes = ["click", "doubleclick", "rightclick", "tripleclick", "moveto", "dragto"];

    public string Name => "agentnet-step-score";

    public string Source => "OpenCUA evaluation/agentnetbench/eval.py (ActionEvaluator) and run.py";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (AgentNetTruth)step.Truth;
        if (!prediction.Parsed.IsSuccess)
        {
            return StepGrade.Wrong("wrong format");
        }

        var predicted = FromUiTars(prediction);
        var score = Score(truth.Actions, predicted);
        var note = "main";
        if (score < 1)
        {
            foreach (var option in truth.Alternatives)
            {
                var alternative = Score(option, predicted);
                if (alternative > score)
                {
                    score = alternative;
                    note = "alternative";
                }
            }
        }

        return new StepGrade(score, note);
    }

    /// <summary>The UI-TARS answer as predicted actions, relative coordinates over the resized image.</summary>
    public static IReadOnlyList<AgentNetPredicted> FromUiTars(ModelPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var list = new List<AgentNetPredicted>();
        foreach (var action in prediction.Parsed.Actions)
        {
            AgentNetPredicted Pointer(string type, PixelPoint at)
            {
                var (x, y) = prediction.Relative(at);
                return new AgentNetPredicted(type, x, y);
            }

            switch (action)
            {
                case ClickAction a:
                    list.Add(Pointer("click", a.At));
                    break;
                case LongPressAction a:
                    list.Add(Pointer("click", a.At));
                    break;
                case LeftDoubleAction a:
                    list.Add(Pointer("doubleclick", a.At));
                    break;
                case RightSingleAction a:
                    list.Add(Pointer("rightclick", a.At));
                    break;
                case DragAction a:
                    list.Add(Pointer("dragto", a.To));
                    break;
                case ScrollAction a:
                    list.Add(Pointer("scroll", a.At));
                    break;
                case TypeAction a:
                    list.Add(new AgentNetPredicted("write", Text: a.Content));
                    break;
                case HotkeyAction a:
                    var keys = a.Key.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    list.Add(new AgentNetPredicted(keys.Length == 1 ? "press" : "hotkey", Keys: keys));
                    break;
                case PressBackAction:
                    list.Add(new AgentNetPredicted("press", Keys: ["escape"]));
                    break;
                case FinishedAction a:
                    var success = (a.Content ?? "").Contains("success", StringComparison.OrdinalIgnoreCase);
                    list.Add(new AgentNetPredicted("terminate", Status: success ? "success" : "failure"));
                    break;
                default:
                    break; // wait, call_user, open_app, press_home: nothing AgentNetBench knows.
            }
        }

        return list;
    }

    /// <summary>The official per-step score of one ground-truth list against the predictions.</summary>
    public static double Score(IReadOnlyList<AgentNetAction> groundTruth, IReadOnlyList<AgentNetPredicted> predictions)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(predictions);
        if (groundTruth.Count == 0 || predictions.Count == 0)
        {
            return 0;
        }

        var gt = MergeGroundTruthEnter(groundTruth);
        var pred = MergePredictedEnter(predictions);
        if (gt[0].Type == "terminate")
        {
            return pred[0].Type == "terminate" && pred[0].Status == gt[0].Status ? 1 : 0;
        }

        if (!gt.Any(a => string.Equals(a.LowerType, pred[0].Type, StringComparison.OrdinalIgnoreCase)))
        {
            return 0;
        }

        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < gt.Count; i++)
        {
            var type = gt[i].LowerType;
            counts[type] = counts.GetValueOrDefault(type) + 1;
            sums[type] = sums.GetValueOrDefault(type) + (i < pred.Count && string.Equals(pred[i].Type, type, StringComparison.OrdinalIgnoreCase) ? ActionScore(gt[i], pred[i]) : 0);
        }

        return sums.Sum(pair => pair.Value / counts[pair.Key]) / sums.Count;
    }

    /// <summary>Levenshtein distance over UTF-16 code units.</summary>
    public static int EditDistance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>The write score: 1 at similarity ≥ 0.8, else similarity / 0.8, on lower-cased trimmed texts.</summary>
    public static double WriteScore(string groundTruth, string predicted)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(predicted);
        // eval.py trims (which already removes a trailing newline), then applies its ×0.9 newline rule, which
        // therefore never triggers; the same order is kept here.
        string g = groundTruth.ToLowerInvariant().Trim(), p = predicted.ToLowerInvariant().Trim();
        bool gNewline = g.EndsWith('\n'), pNewline = p.EndsWith('\n');
        g = g.TrimEnd('\n');
        p = p.TrimEnd('\n');
        var longest = Math.Max(g.Length, p.Length);
        if (longest == 0)
        {
            return 1;
        }

        var similarity = 1.0 - ((double)EditDistance(p, g) / longest);
        if (gNewline != pNewline)
        {
            similarity *= 0.9;
        }

        return similarity >= WriteThreshold ? 1 : similarity / WriteThreshold;
    }

    /// <summary>The pointer score of a relative point against a ground-truth position and its relative boxes.</summary>
    public static double PointerScore(AgentNetAction groundTruth, double x, double y)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        if (groundTruth.RelativeBoxes is { } boxes && boxes.Any(b => b.Contains(x, y)))
        {
            return 1;
        }

        double dx = x - (groundTruth.X ?? 0), dy = y - (groundTruth.Y ?? 0);
        var distance = Math.Sqrt((dx * dx) + (dy * dy));
        return distance <= CoordinateThreshold ? 1 : Math.Exp(-Alpha * (distance - CoordinateThreshold));
    }

    private static double ActionScore(AgentNetAction gt, AgentNetPredicted pred)
    {
        var type = gt.LowerType;
        if (PointerTypes.Contains(type))
        {
            return PointerScore(gt, pred.X, pred.Y);
        }

        return type switch
        {
            "write" => WriteScore(gt.Text ?? "", pred.Text ?? ""),
            "press" or "hotkey" => KeySet(gt.Keys).SetEquals(KeySet(pred.Keys)) ? 1 : 0,
            "scroll" => 1,
            _ => 0,
        };
    }

    private static HashSet<string> KeySet(IReadOnlyList<string>? keys) =>
        new((keys ?? []).Select(k => k.ToLowerInvariant()), StringComparer.Ordinal);

    private static bool IsSingleEnter(IReadOnlyList<string>? keys) =>
        keys is { Count: 1 } && keys[0].ToLowerInvariant() is "enter" or "return";

    private static List<AgentNetAction> MergeGroundTruthEnter(IReadOnlyList<AgentNetAction> actions)
    {
        var merged = new List<AgentNetAction>();
        for (var i = 0; i < actions.Count; i++)
        {
            if (i + 1 < actions.Count && actions[i].LowerType == "write" && actions[i + 1].LowerType is "press" or "hotkey" && IsSingleEnter(actions[i + 1].Keys))
            {
                merged.Add(actions[i] with { Text = (actions[i].Text ?? "") + "\n" });
                i++;
            }
            else
            {
                merged.Add(actions[i]);
            }
        }

        return merged;
    }

    private static List<AgentNetPredicted> MergePredictedEnter(IReadOnlyList<AgentNetPredicted> actions)
    {
        var merged = new List<AgentNetPredicted>();
        for (var i = 0; i < actions.Count; i++)
        {
            if (i + 1 < actions.Count && actions[i].Type == "write" && actions[i + 1].Type == "press" && IsSingleEnter(actions[i + 1].Keys))
            {
                merged.Add(actions[i] with { Text = (actions[i].Text ?? "") + "\n" });
                i++;
            }
            else
            {
                merged.Add(actions[i]);
            }
        }

        return merged;
    }
}
