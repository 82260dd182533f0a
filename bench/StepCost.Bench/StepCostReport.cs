using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StarKv.StepCost.Bench;

/// <summary>Writes <c>step-cost.json</c> (every run, every step) and <c>step-cost.md</c> (summary, targets, per-step tables).</summary>
public static class StepCostReport
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private const double MiB = 1 << 20;

    public static void Write(IReadOnlyList<RunResult> runs, string directory)
    {
        ArgumentNullException.ThrowIfNull(runs);
        Directory.CreateDirectory(directory);
        var targets = Targets(runs);
        var document = new { Machine = Machine(), Model = ModelLine, Runs = runs, Targets = targets };
        File.WriteAllText(Path.Combine(directory, "step-cost.json"), JsonSerializer.Serialize(document, Json) + "\n");
        File.WriteAllText(Path.Combine(directory, "step-cost.md"), Markdown(runs, targets));
    }

    private const string ModelLine =
        "Qwen2.5-VL architecture, random weights, fp32 on the CPU: text hidden 1024, 4 layers, 16 query heads over 8 KV heads of 64, MLP 5504; "
        + "vision 4 blocks of hidden 512; 1280 × 720 synthetic screenshots resized to 840 × 476 = 510 vision tokens; STaR-KV, retained cache, "
        + "32 decoded tokens a step (end tokens never win), 16 steps; checkpoints to a filesystem store (fsync) as a trajectory grain writes them";

    private static string Machine() =>
        $"{Environment.ProcessorCount} CPU cores shared with a model-training job (benchmark at nice 15), TorchSharp CPU";

    /// <summary>The issue's three targets, measured on the after runs (with the before runs' figures alongside).</summary>
    public static IReadOnlyList<TargetRow> Targets(IReadOnlyList<RunResult> runs)
    {
        RunResult? Find(string code, double budget) => runs.FirstOrDefault(r => r.Code == code && Math.Abs(r.Budget - budget) < 1e-9);
        var rows = new List<TargetRow>();
        var (beforeFull, afterFull) = (Find("before", 1.0), Find("after", 1.0));
        var (beforeFifth, afterFifth) = (Find("before", 0.2), Find("after", 0.2));
        if (afterFull is not null)
        {
            rows.Add(new TargetRow("step 16 / step 1 wall time, full budget", "≤ 1.15", beforeFull?.LastOverFirst, afterFull.LastOverFirst, afterFull.LastOverFirst <= 1.15));
            rows.Add(new TargetRow("step 16 / step 2 wall time, full budget (step 1 carries the prompt and the warm-up)", "(≤ 1.15)", beforeFull?.LastOverSecond, afterFull.LastOverSecond, afterFull.LastOverSecond <= 1.15));
        }

        foreach (var (before, after) in new[] { (beforeFifth, afterFifth), (beforeFull, afterFull) })
        {
            if (after is not null)
            {
                var name = after.Budget >= 1 ? "full budget" : $"{after.Budget:P0} budget";
                rows.Add(new TargetRow($"checkpoint on the step's path / step time, all steps, {name}", "≤ 5 %", before?.CheckpointShare, after.CheckpointShare, after.CheckpointShare <= 0.05));
                rows.Add(new TargetRow($"checkpoint on the step's path / step time, worst step, {name}", "(≤ 5 %)", before?.WorstCheckpointShare, after.WorstCheckpointShare, after.WorstCheckpointShare <= 0.05));
            }
        }

        if (afterFifth is not null && afterFull is not null)
        {
            double? beforeRatio = beforeFifth is not null && beforeFull is not null ? (double)beforeFifth.PeakAboveModelBytes / beforeFull.PeakAboveModelBytes : null;
            var ratio = (double)afterFifth.PeakAboveModelBytes / afterFull.PeakAboveModelBytes;
            rows.Add(new TargetRow("peak resident memory above the loaded model, 20 % / full", "≤ 0.40", beforeRatio, ratio, ratio <= 0.4));
            double? beforeGrowth = beforeFifth is not null && beforeFull is not null ? (double)beforeFifth.PeakGrowthBytes / beforeFull.PeakGrowthBytes : null;
            var growth = (double)afterFifth.PeakGrowthBytes / afterFull.PeakGrowthBytes;
            rows.Add(new TargetRow("peak growth after step 1 (the part that grows with the cache), 20 % / full", "(≤ 0.40)", beforeGrowth, growth, growth <= 0.4));
        }

        return rows;
    }

    private static string Markdown(IReadOnlyList<RunResult> runs, IReadOnlyList<TargetRow> targets)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# Step cost benchmark");
        md.AppendLine();
        md.AppendLine(c, $"Model and run: {ModelLine}. Machine: {Machine()}; absolute times are noisy, so each budget ran before then after, back to back, each run in its own process.");
        md.AppendLine(c, $"Code: before = {string.Join(", ", runs.Where(r => r.Code == "before").Select(r => r.Commit).Distinct())}, after = {string.Join(", ", runs.Where(r => r.Code == "after").Select(r => r.Commit).Distinct())}.");
        md.AppendLine();
        md.AppendLine("## Targets");
        md.AppendLine();
        md.AppendLine("| figure | target | before | after | met |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var t in targets)
        {
            var percent = t.Target.Contains('%', StringComparison.Ordinal);
            string Format(double? v) => v is not { } x ? "–" : percent ? x.ToString("P1", c) : x.ToString("F2", c);
            md.AppendLine(c, $"| {t.Figure} | {t.Target} | {Format(t.Before)} | {Format(t.After)} | {(t.Met ? "yes" : "no")} |");
        }

        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        md.AppendLine("| budget | code | step 1 (ms) | step 16 (ms) | 16 / 1 | mean step (ms) | checkpoint on path, mean (ms) | background full checkpoints (ms, count) | KV after step 16 (MiB) | resident with the model (MiB) | peak resident (MiB) | peak above the model (MiB) | peak growth after step 1 (MiB) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs.OrderByDescending(r => r.Budget).ThenByDescending(r => r.Code))
        {
            var background = r.Steps.Where(s => s.BackgroundCheckpointMs > 0).ToList();
            md.AppendLine(c, $"| {Budget(r.Budget)} | {r.Code} | {r.Steps[0].WallMs:F0} | {r.Steps[^1].WallMs:F0} | {r.LastOverFirst:F2} | {r.Steps.Average(s => s.WallMs):F0} | {r.Steps.Average(s => s.CheckpointMs):F1} | {(background.Count == 0 ? "–" : $"{background.Average(s => s.BackgroundCheckpointMs):F0} ({background.Count})")} | {r.Steps[^1].KvBytes / MiB:F1} | {r.LoadedResidentBytes / MiB:F0} | {r.PeakResidentBytes / MiB:F0} | {r.PeakAboveModelBytes / MiB:F0} | {r.PeakGrowthBytes / MiB:F0} |");
        }

        foreach (var r in runs.OrderByDescending(r => r.Budget).ThenByDescending(r => r.Code))
        {
            md.AppendLine();
            md.AppendLine(c, $"## {Budget(r.Budget)}, {r.Code}");
            md.AppendLine();
            md.AppendLine("| step | wall (ms) | preprocess | vision | prefill | compress | decode | checkpoint on path | other | checkpoint written (KiB) | background full (ms) | seen tokens | KV (MiB) | resident (MiB) | peak resident (MiB) |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var s in r.Steps)
            {
                md.AppendLine(c, $"| {s.Step} | {s.WallMs:F0} | {s.PreprocessMs:F0} | {s.VisionMs:F0} | {s.PrefillMs:F0} | {s.CompressMs:F0} | {s.DecodeMs:F0} | {s.CheckpointMs:F1} | {s.OtherMs:F0} | {s.CheckpointBytes / 1024.0:F0} | {(s.BackgroundCheckpointMs > 0 ? s.BackgroundCheckpointMs.ToString("F0", c) : "")} | {s.SeenTokens} | {s.KvBytes / MiB:F1} | {s.ResidentBytes / MiB:F0} | {s.PeakResidentBytes / MiB:F0} |");
            }
        }

        md.AppendLine();
        md.AppendLine("Before, the code had no preprocessing figure: it is timed by preprocessing the same screenshot right before the step, and");
        md.AppendLine("\"other\" is the rest of the wall time (there: mostly the copy of the cache taken before each step for rollback). After, the");
        md.AppendLine("checkpoint on the path is the step's delta (the first step's full checkpoint) streamed to the store until durable; the");
        md.AppendLine("full checkpoints every 8 deltas are written in the background while the next steps run, and their time is not on any");
        md.AppendLine("step's path (it competes for the same two cores).");
        return md.ToString();
    }

    private static string Budget(double budget) => budget >= 1 ? "full" : budget.ToString("P0", CultureInfo.InvariantCulture);
}

/// <summary>One of the issue's targets: the figure before and after, and whether the after figure meets it.</summary>
public sealed record TargetRow(string Figure, string Target, double? Before, double After, bool Met);
