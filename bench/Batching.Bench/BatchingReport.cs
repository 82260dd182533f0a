using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StarKv.Batching.Bench;

/// <summary>bench/results/batching.json and batching.md.</summary>
public static class BatchingReport
{
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true };

    public static string Markdown(IReadOnlyList<BatchingRow> rows, BenchArguments options)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine("# Continuous batching: concurrent sessions, batched against serial");
        text.AppendLine();
        text.AppendLine(c, $"Written by `bench/Batching.Bench` on {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:yyyy-MM-dd}. Random-weight Qwen2.5-VL, {BenchModel.TextParameters() / 1e6:F0}M text parameters in fp32 (8 layers of hidden 1024, 16 query heads over 4 KV heads, MLP 4096); 224 × 224 synthetic screenshots (64 vision tokens); each session first takes its first step (system prompt and task, not timed), then all sessions take {options.Steps} steps at once, one thread each, {options.NewTokens} decoded tokens a step. Serial: batch size 1, each step alone behind the runtime's lock. Batched: up to {options.Sessions.Max()} steps an iteration, {options.MaxTokens} tokens an iteration. Torch threads: {(options.Threads > 0 ? options.Threads : Environment.ProcessorCount)}. Peak memory: the resident set's peak during the run above the resident set at its start, after the allocator handed its free memory back (`malloc_trim`); the runs share one process, so the model's weights are in both.");
        text.AppendLine();
        text.AppendLine("| budget | sessions | mode | steps/s | decode tok/s | p50 step ms | p99 step ms | peak RSS above start | decode rows / iteration | steps/s batched ÷ serial |");
        text.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in rows)
        {
            var serial = rows.FirstOrDefault(r => r.Mode == "serial" && r.Budget == row.Budget && r.Sessions == row.Sessions);
            var speedup = row.Mode == "batched" && serial is not null ? (row.StepsPerSecond / serial.StepsPerSecond).ToString("F2", c) + "×" : "";
            text.AppendLine(c, $"| {row.Budget:P0} | {row.Sessions} | {row.Mode} | {row.StepsPerSecond:F2} | {row.DecodeTokensPerSecond:F1} | {row.P50Ms:F0} | {row.P99Ms:F0} | {row.PeakResidentAboveStartBytes / 1048576.0:F0} MiB | {row.MeanDecodeRowsPerIteration:F1} | {speedup} |");
        }

        return text.ToString();
    }
}
