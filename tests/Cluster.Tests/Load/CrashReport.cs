using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StarKv.Cluster.Tests.Load;

/// <summary>What the load saw around a silo crash; written as Markdown and JSON under <c>artifacts/cluster-test/</c>.</summary>
public sealed record CrashReport
{
    public required int Silos { get; init; }

    public required int Sessions { get; init; }

    public required double StartupSeconds { get; init; }

    public required double LoadSeconds { get; init; }

    public required long StepsAnswered { get; init; }

    public required long StepsReplayed { get; init; }

    public required IReadOnlyDictionary<string, int> ErrorsByStatus { get; init; }

    public required double LatencyP50Ms { get; init; }

    public required double LatencyP99Ms { get; init; }

    public required double LatencyMaxMs { get; init; }

    public required double StepTimeP50Ms { get; init; }

    public required double StepTimeP99Ms { get; init; }

    public required double StepTimeMaxMs { get; init; }

    public required double StepDeadlineSeconds { get; init; }

    public required string KilledSilo { get; init; }

    public required double KilledAtSeconds { get; init; }

    public required int SessionsOnKilledSilo { get; init; }

    /// <summary>Attempts to the killed silo's sessions that were in flight when it was killed.</summary>
    public required int CallsInFlightAtKill { get; init; }

    /// <summary>From the SIGKILL until the last of those attempts ended (released by the gateway once the silo was declared dead).</summary>
    public required double LastHungCallReleasedSeconds { get; init; }

    /// <summary>How those attempts ended, by status.</summary>
    public required IReadOnlyDictionary<string, int> HungCallsByStatus { get; init; }

    /// <summary>From the SIGKILL until every session that was on the killed silo had a step answered again.</summary>
    public required double RecoverySeconds { get; init; }

    /// <summary>Median over the killed silo's sessions of the time until each was answered again.</summary>
    public required double RecoveryMedianSeconds { get; init; }

    public required IReadOnlyDictionary<string, int> SessionsPerSiloAfter { get; init; }

    /// <summary>Errors by status from the SIGKILL until every lost session was served again (plus a settling pause).</summary>
    public required IReadOnlyDictionary<string, int> ErrorsDuringCrash { get; init; }

    public required string TerminatedSilo { get; init; }

    public required int SessionsOnTerminatedSilo { get; init; }

    /// <summary>From SIGTERM until the silo process exited (it moves its sessions away first).</summary>
    public required double TerminateExitSeconds { get; init; }

    public required int TerminateExitCode { get; init; }

    /// <summary>From SIGTERM until every session that was on the terminated silo had a step answered elsewhere.</summary>
    public required double TerminateRecoverySeconds { get; init; }

    public required IReadOnlyDictionary<string, int> ErrorsDuringTerminate { get; init; }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine("# Multi-process cluster test: silos killed and stopped under load");
        text.AppendLine();
        text.AppendLine(c, $"{Silos} silo processes + 1 gateway process (Redis clustering, Azurite checkpoints), {Sessions} sessions stepping in a loop through the gateway over gRPC; one silo killed with SIGKILL, later another stopped with SIGTERM.");
        text.AppendLine();
        text.AppendLine("| figure | value |");
        text.AppendLine("|---|---|");
        text.AppendLine(c, $"| cluster start (processes up, all silos listed) | {StartupSeconds:F1} s |");
        text.AppendLine(c, $"| load duration | {LoadSeconds:F1} s |");
        text.AppendLine(c, $"| steps answered | {StepsAnswered} ({StepsReplayed} replayed from the stored result) |");
        text.AppendLine(c, $"| errors by status | {(ErrorsByStatus.Count == 0 ? "none" : string.Join(", ", ErrorsByStatus.Select(e => $"{e.Key} × {e.Value}")))} |");
        text.AppendLine(c, $"| answered attempt latency p50 / p99 / max | {LatencyP50Ms:F0} / {LatencyP99Ms:F0} / {LatencyMaxMs:F0} ms |");
        text.AppendLine(c, $"| step time incl. retries p50 / p99 / max | {StepTimeP50Ms:F0} / {StepTimeP99Ms:F0} / {StepTimeMaxMs:F0} ms (client deadline per attempt {StepDeadlineSeconds:F0} s) |");
        text.AppendLine(c, $"| killed silo | {KilledSilo} at {KilledAtSeconds:F1} s, holding {SessionsOnKilledSilo} sessions |");
        text.AppendLine(c, $"| SIGKILL to the last hung call released (target under 15 s) | {LastHungReleasedText()} |");
        text.AppendLine(c, $"| until all its sessions were served again | {RecoverySeconds:F1} s (median {RecoveryMedianSeconds:F1} s) |");
        text.AppendLine(c, $"| errors while the killed silo's sessions came back | {Errors(ErrorsDuringCrash)} |");
        text.AppendLine(c, $"| terminated silo (SIGTERM, graceful drain) | {TerminatedSilo}, holding {SessionsOnTerminatedSilo} sessions; exited with code {TerminateExitCode} after {TerminateExitSeconds:F1} s |");
        text.AppendLine(c, $"| until all its sessions were served elsewhere | {TerminateRecoverySeconds:F1} s; errors meanwhile: {Errors(ErrorsDuringTerminate)} |");
        text.AppendLine(c, $"| sessions per silo at the end | {string.Join(", ", SessionsPerSiloAfter.Select(p => $"{p.Key}: {p.Value}"))} |");
        return text.ToString();
    }

    private string LastHungReleasedText() => CallsInFlightAtKill == 0
        ? "no call was in flight"
        : string.Create(CultureInfo.InvariantCulture, $"{LastHungCallReleasedSeconds:F1} s ({CallsInFlightAtKill} calls in flight: {Errors(HungCallsByStatus)})");

    private static string Errors(IReadOnlyDictionary<string, int> errors) =>
        errors.Count == 0 ? "none" : string.Join(", ", errors.Select(e => $"{e.Key} × {e.Value}"));

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
