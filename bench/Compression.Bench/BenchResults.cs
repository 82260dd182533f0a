using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StarKv.Compression.Bench;

/// <summary>One method at one budget.</summary>
public sealed record MethodRow(
    string Method,
    double Budget,
    int Window,
    double OneLayerMs,
    double OneLayerInPrefillMs,
    double AllLayersMs,
    int LayersTimed,
    double CompressionOverPrefill,
    long KeptEntries,
    long KeptKvBytes,
    long FullKvBytes,
    double KeptFraction,
    long MinLayerKeep,
    long MaxLayerKeep);

/// <summary>STaR-KV Adaptive against Faithful at one budget.</summary>
public sealed record ModeComparison(double Budget, double MeanJaccardTurn1, long AdaptiveMinLayerKeepTurn2, long AdaptiveMaxLayerKeepTurn2, double AdaptiveKeptFractionTurn2, double FaithfulKeptFractionTurn2);

public sealed record BenchReport(
    string Machine,
    string Shape,
    int Repetitions,
    double PrefillOneLayerMs,
    double PrefillOneLayerWithColumnSumsMs,
    double H2ORecomputeOneLayerMs,
    IReadOnlyList<MethodRow> Rows,
    IReadOnlyList<ModeComparison> AdaptiveVersusFaithful,
    bool KeptAtMost21PercentAt20Percent);

public static class BenchResults
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Write(BenchReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "compression.json"), JsonSerializer.Serialize(report, Json) + "\n");
        File.WriteAllText(Path.Combine(directory, "compression.md"), Markdown(report));
    }

    private static string Markdown(BenchReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# Compression benchmark");
        md.AppendLine();
        md.AppendLine(c, $"Shape: {report.Shape}. Machine: {report.Machine}. Repetitions for one layer: {report.Repetitions} (median); all layers: one pass.");
        md.AppendLine(c, $"Denominator: one decoder layer's prefill of the step's new tokens over the cached history, run by the model's own code (GpuWorker's DecoderLayer, fused attention, fp32, same process, fastest of two runs): {report.PrefillOneLayerMs:F0} ms.");
        md.AppendLine(c, $"The same prefill with the explicit attention that also sums each entry's attention for H2O: {report.PrefillOneLayerWithColumnSumsMs:F0} ms ({(report.PrefillOneLayerWithColumnSumsMs / report.PrefillOneLayerMs) - 1:P1} more).");
        md.AppendLine();
        md.AppendLine("| method | budget | W | 1 layer (ms) | of which in the prefill (ms) | 28 layers (ms) | compress / prefill (1 layer) | KV kept vs full | layer keep min–max |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Rows)
        {
            md.AppendLine(c, $"| {r.Method} | {r.Budget:P0} | {r.Window} | {r.OneLayerMs:F1} | {r.OneLayerInPrefillMs:F0} | {r.AllLayersMs:F0}{(r.LayersTimed < 28 ? $" (from {r.LayersTimed} layers)" : string.Empty)} | {r.CompressionOverPrefill:P2} | {r.KeptFraction:P2} | {r.MinLayerKeep}–{r.MaxLayerKeep} |");
        }

        md.AppendLine();
        md.AppendLine("H2O scores with the column sums the prefill's attention accumulates (the session asks the model for them): its cost on a");
        md.AppendLine("step is the prefill's extra attention work (the column above, measured on the model's layer) plus its selection, whose");
        md.AppendLine("28-layer time is scaled from the layers it was timed on (its budget is uniform across layers, so the kept count is exact).");
        md.AppendLine(c, $"Recomputing that attention instead, as H2O does when no sums are passed (per KV group, in place), takes {report.H2ORecomputeOneLayerMs:F0} ms for one layer ({report.H2ORecomputeOneLayerMs / report.PrefillOneLayerMs:P1} of its prefill).");
        md.AppendLine();
        md.AppendLine("## STaR-KV Adaptive vs Faithful");
        md.AppendLine();
        md.AppendLine("Turn 1: mean Jaccard overlap of the kept sets over the 28 layers (1 = identical selections). Turn 2 (same tensors, the");
        md.AppendLine("session state carried over): Adaptive splits the budget across layers by each layer's attention entropy.");
        md.AppendLine();
        md.AppendLine("| budget | Jaccard, turn 1 | Adaptive layer keep min–max, turn 2 | Adaptive KV kept, turn 2 | Faithful KV kept, turn 2 |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var m in report.AdaptiveVersusFaithful)
        {
            md.AppendLine(c, $"| {m.Budget:P0} | {m.MeanJaccardTurn1:F3} | {m.AdaptiveMinLayerKeepTurn2}–{m.AdaptiveMaxLayerKeepTurn2} | {m.AdaptiveKeptFractionTurn2:P2} | {m.FaithfulKeptFractionTurn2:P2} |");
        }

        md.AppendLine();
        md.AppendLine(c, $"At a 20% budget every method but full keeps at most 21% of the full KV bytes: {(report.KeptAtMost21PercentAt20Percent ? "yes" : "NO")}.");
        return md.ToString();
    }
}
