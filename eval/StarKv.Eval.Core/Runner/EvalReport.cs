using StarKv.Eval.Core.Reports;

namespace StarKv.Eval.Core.Runner;

/// <summary>One configuration's aggregates: the benchmark's columns and the KV figures.</summary>
public sealed record ConfigSummary
{
    public required RunConfig Config { get; init; }

    public required int Episodes { get; init; }

    public required IReadOnlyList<SummaryCell> Cells { get; init; }

    /// <summary>Mean KV bytes held after a step.</summary>
    public required double KvBytesMean { get; init; }

    /// <summary>Mean KV bytes the full cache would hold after a step.</summary>
    public required double FullKvBytesMean { get; init; }

    /// <summary>Held over full, summed over steps.</summary>
    public double KvRatio => FullKvBytesMean > 0 ? KvBytesMean / FullKvBytesMean : 0;

    public required double StepMsMean { get; init; }

    public double? Headline => Cells.Count > 0 ? Cells[0].Value : null;
}

/// <summary>What a run produced: every episode record, the summaries and the files written.</summary>
public sealed record EvalReport
{
    public required string Benchmark { get; init; }

    public required string Layout { get; init; }

    public required string GraderName { get; init; }

    public required string GraderSource { get; init; }

    public required string Model { get; init; }

    public required int Episodes { get; init; }

    public required IReadOnlyList<EpisodeRecord> Records { get; init; }

    public required IReadOnlyList<ConfigSummary> Summaries { get; init; }

    public required string ResultsJson { get; init; }

    public required string Table { get; init; }

    public required IReadOnlyList<string> Plots { get; init; }

    public required IReadOnlyList<string> Heatmaps { get; init; }
}
