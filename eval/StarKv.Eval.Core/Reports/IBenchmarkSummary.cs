using StarKv.Eval.Core.Runner;

namespace StarKv.Eval.Core.Reports;

/// <summary>One aggregate of one configuration: a named column, its value in [0, 1] (null when no sample falls in it) and how many samples it averages.</summary>
public sealed record SummaryCell(string Column, double? Value, int Count);

/// <summary>How a benchmark aggregates its graded episodes into the columns its papers report.</summary>
public interface IBenchmarkSummary
{
    /// <summary>The column plotted against the budget.</summary>
    string Headline { get; }

    /// <summary>The columns for the episodes of one configuration; the headline first.</summary>
    IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes);
}

/// <summary>Averages used by the summaries.</summary>
public static class Aggregate
{
    public static SummaryCell Mean(string column, IEnumerable<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var list = scores.ToList();
        return new SummaryCell(column, list.Count == 0 ? null : list.Average(), list.Count);
    }

    /// <summary>The unweighted mean of cells that have a value.</summary>
    public static SummaryCell MeanOfCells(string column, IEnumerable<SummaryCell> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var present = cells.Where(c => c.Value.HasValue).ToList();
        return new SummaryCell(column, present.Count == 0 ? null : present.Average(c => c.Value!.Value), present.Sum(c => c.Count));
    }
}

/// <summary>
/// ScreenSpot-v2 (and v1) aggregation: accuracy of the six cells split × ui type, then three averages, since papers
/// use different ones (docs/benchmarks.md §1): over samples ("avg"), the unweighted mean of the six cells ("cell
/// mean", UGround <c>offline_evaluation/ScreenSpot/eval.py</c>) and GUI-KV's <c>overall_accuracy</c> (mean over splits of
/// text accuracy and of icon accuracy, averaged; GUI-KV <c>eval/screenspotv2_eval.py</c>).
/// </summary>
public sealed class ScreenSpotV2Summary : IBenchmarkSummary
{
    private static readonly string[] Splits = ["mobile", "desktop", "web"];
    private static readonly string[] Types = ["text", "icon"];

    public string Headline => "avg";

    public IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var cells = new List<SummaryCell>();
        foreach (var split in Splits)
        {
            foreach (var type in Types)
            {
                cells.Add(Aggregate.Mean($"{split} {type}", episodes.Where(e => e.Tag("platform") == split && e.Tag("ui_type") == type).Select(e => e.Steps[0].Score)));
            }
        }

        var textMean = Aggregate.MeanOfCells("text", cells.Where(c => c.Column.EndsWith(" text", StringComparison.Ordinal)));
        var iconMean = Aggregate.MeanOfCells("icon", cells.Where(c => c.Column.EndsWith(" icon", StringComparison.Ordinal)));
        var guiKv = Aggregate.MeanOfCells("GUI-KV overall", [textMean, iconMean]);
        return [Aggregate.Mean("avg", episodes.Select(e => e.Steps[0].Score)), Aggregate.MeanOfCells("cell mean", cells), guiKv, .. cells];
    }
}

/// <summary>
/// ScreenSpot-Pro aggregation (ScreenSpot-Pro <c>eval_screenspot_pro.py</c>, leaderboard style): overall accuracy over
/// all samples (the headline, a micro-average), text and icon accuracy, and each group's accuracy.
/// </summary>
public sealed class ScreenSpotProSummary : IBenchmarkSummary
{
    private static readonly string[] Groups = ["Dev", "Creative", "CAD", "Scientific", "Office", "OS"];

    public string Headline => "avg";

    public IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var groups = Groups.Concat(episodes.Select(e => e.Tag("group")).Where(g => g.Length > 0 && !Groups.Contains(g)).Distinct().Order(StringComparer.Ordinal));
        return
        [
            Aggregate.Mean("avg", episodes.Select(e => e.Steps[0].Score)),
            Aggregate.Mean("text", episodes.Where(e => e.Tag("ui_type") == "text").Select(e => e.Steps[0].Score)),
            Aggregate.Mean("icon", episodes.Where(e => e.Tag("ui_type") == "icon").Select(e => e.Steps[0].Score)),
            .. groups.Select(g => Aggregate.Mean(g, episodes.Where(e => e.Tag("group") == g).Select(e => e.Steps[0].Score))),
        ];
    }
}

/// <summary>
/// AndroidControl: step accuracy over all steps (the headline) and grounding accuracy, the accuracy over steps whose
/// ground truth is click, long_press or type_text (GUI-KV <c>eval/androidcontrol_eval.py</c>, computed by step, so a
/// skipped step cannot misalign it).
/// </summary>
public sealed class AndroidControlSummary(string rule) : IBenchmarkSummary
{
    public string Headline => $"step acc ({rule})";

    public IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var steps = episodes.SelectMany(e => e.Steps).ToList();
        return
        [
            Aggregate.Mean(Headline, steps.Select(s => s.Score)),
            Aggregate.Mean("grounding acc", steps.Where(s => s.Category is "click" or "long_press" or "type_text").Select(s => s.Score)),
        ];
    }
}

/// <summary>
/// AgentNetBench: the average step score over all steps of all trajectories (OpenCUA <c>run.py</c> average_score, the
/// headline), the mean of per-trajectory means (GUI-KV's average_trajectory_score) and the mean per step category
/// (coordinate, content, function; the README table's columns, mapping unconfirmed).
/// </summary>
public sealed class AgentNetBenchSummary : IBenchmarkSummary
{
    private static readonly string[] Categories = ["coordinate", "content", "function"];

    public string Headline => "avg step score";

    public IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var steps = episodes.SelectMany(e => e.Steps).ToList();
        return
        [
            Aggregate.Mean(Headline, steps.Select(s => s.Score)),
            Aggregate.Mean("trajectory avg", episodes.Where(e => e.Steps.Count > 0).Select(e => e.Steps.Average(s => s.Score))),
            .. Categories.Select(c => Aggregate.Mean(c, steps.Where(s => s.Category == c).Select(s => s.Score))),
        ];
    }
}

/// <summary>
/// The synthetic suite: task accuracy by kind, a task counting by its last step (for memory tasks the one that needs
/// an earlier screenshot), over grounding, memory, action and all tasks; and step accuracy over every step.
/// </summary>
public sealed class SyntheticSummary : IBenchmarkSummary
{
    private static readonly string[] Kinds = ["grounding", "memory", "action"];

    public string Headline => "all";

    public IReadOnlyList<SummaryCell> Summarize(IReadOnlyList<EpisodeRecord> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        static double Last(EpisodeRecord e) => e.Steps.Count == 0 ? 0 : e.Steps[^1].Score;
        return
        [
            Aggregate.Mean("all", episodes.Select(Last)),
            .. Kinds.Select(kind => Aggregate.Mean(kind, episodes.Where(e => e.Tag("kind") == kind).Select(Last))),
            Aggregate.Mean("step acc", episodes.SelectMany(e => e.Steps).Select(s => s.Score)),
        ];
    }
}
