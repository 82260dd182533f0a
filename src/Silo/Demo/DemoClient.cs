using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using StarKv.Protos.V1;

namespace StarKv.Silo.Demo;

/// <summary>What the demo runs: the model, the compression method and budget, how many steps, and where the tasks come from.</summary>
public sealed record DemoSettings
{
    public required string Model { get; init; }
    public string Method { get; init; } = "starkv";
    public double BudgetRatio { get; init; } = 0.2;
    public int Steps { get; init; } = 8;
    public int Seed { get; init; } = 7;

    /// <summary>A folder of real screenshots to send instead of the synthetic suite's tasks (for example samples/gui).</summary>
    public string? ScreenshotFolder { get; init; }
}

/// <summary>The demo's end: steps and tasks run, steps whose action hit the target (of those with a known target), and the KV bytes held against a full cache's.</summary>
public sealed record DemoSummary(int Steps, int Tasks, int Hits, int Graded, long KvBytes, long FullKvBytes);

/// <summary>
/// A client of the gateway over real gRPC. For each task (<see cref="DemoTasks"/>) it opens a session with the demo's
/// method and budget, streams the task's screenshots and instructions through <c>Run</c>, and prints each step's parsed
/// action, whether it hits the target (a click inside the target box, the expected text typed, the expected scroll
/// direction, or finished), and the session's KV bytes next to what the full cache would hold; then it closes the
/// session. The summary counts the hits and adds up the KV held by the sessions at their end.
/// </summary>
public sealed class DemoClient(Uri address, string apiKey, TextWriter output)
{
    public async Task<DemoSummary> RunAsync(DemoSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var channel = GrpcChannel.ForAddress(address);
        var client = new AgentGateway.AgentGatewayClient(channel);
        var headers = new Metadata { { "authorization", $"Bearer {apiKey}" } };
        var tasks = settings.ScreenshotFolder is { } folder ? DemoTasks.FromFolder(folder, settings.Steps) : DemoTasks.Suite(settings.Steps);
        Write(string.Create(CultureInfo.InvariantCulture, $"demo: {tasks.Sum(t => t.Steps.Count)} steps in {tasks.Count} tasks; model {settings.Model}, method {settings.Method}, budget {settings.BudgetRatio * 100:F0}% of the tokens seen"));

        int steps = 0, hits = 0, graded = 0;
        long kvBytes = 0, fullKvBytes = 0;
        for (var t = 0; t < tasks.Count; t++)
        {
            var task = tasks[t];
            var sessionId = "demo-" + Guid.NewGuid().ToString("N")[..8];
            var info = await client.CreateSessionAsync(new CreateSessionRequest
            {
                SessionId = sessionId,
                Model = settings.Model,
                Method = settings.Method,
                Budget = new Budget { Ratio = settings.BudgetRatio },
                Options = new Protos.V1.SessionOptions { Seed = settings.Seed },
            }, headers, cancellationToken: cancellationToken);
            Write($"task {t + 1}/{tasks.Count} ({task.Kind}, {task.Label}): session {info.SessionId} on {info.Silo}");

            using (var run = client.Run(headers, cancellationToken: cancellationToken))
            {
                for (var s = 0; s < task.Steps.Count; s++)
                {
                    var step = task.Steps[s];
                    await run.RequestStream.WriteAsync(new StepRequest
                    {
                        SessionId = sessionId,
                        StepIndex = s,
                        Screenshot = Google.Protobuf.ByteString.CopyFrom(step.Image),
                        Instruction = step.Instruction,
                    }, cancellationToken);
                    if (!await run.ResponseStream.MoveNext(cancellationToken))
                    {
                        throw new InvalidOperationException($"The gateway closed the stream before answering step {s} of task {task.Label}.");
                    }

                    var result = run.ResponseStream.Current;
                    var hit = step.Expected is { } expected ? Hits(result, expected) : (bool?)null;
                    graded += hit.HasValue ? 1 : 0;
                    hits += hit == true ? 1 : 0;
                    steps++;
                    WriteStep(result, step.Instruction, hit);
                }

                await run.RequestStream.CompleteAsync();
                while (await run.ResponseStream.MoveNext(cancellationToken))
                {
                    // The stream ends once the server has answered every step it was sent.
                }
            }

            var final = await client.GetSessionAsync(new GetSessionRequest { SessionId = sessionId }, headers, cancellationToken: cancellationToken);
            kvBytes += final.KvBytes;
            fullKvBytes += final.FullKvBytes;
            await client.CloseSessionAsync(new CloseSessionRequest { SessionId = sessionId }, headers, cancellationToken: cancellationToken);
        }

        var ratio = kvBytes == 0 ? 0 : (double)fullKvBytes / kvBytes;
        var share = graded == 0 ? "no targets known" : string.Create(CultureInfo.InvariantCulture, $"{hits} of {graded} hit the target ({hits * 100.0 / graded:F0}%)");
        Write(string.Create(CultureInfo.InvariantCulture, $"demo: {steps} steps in {tasks.Count} tasks, {share}; the sessions ended holding {Bytes(kvBytes)} of KV vs {Bytes(fullKvBytes)} for full caches ({ratio:F1}x smaller)"));
        return new DemoSummary(steps, tasks.Count, hits, graded, kvBytes, fullKvBytes);
    }

    /// <summary>Whether the parsed action is the expected one: a click inside the box (edges inclusive), the expected text, direction or verb.</summary>
    public static bool Hits(StepResult result, DemoExpectation expected)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(expected);
        if (result.ParseCase != StepResult.ParseOneofCase.Action || result.Action.Name != expected.Verb)
        {
            return false;
        }

        var action = result.Action;
        return expected.Verb switch
        {
            "click" => expected.Box is { } box && action.Point is { } p && p.X >= box.X1 && p.X <= box.X2 && p.Y >= box.Y1 && p.Y <= box.Y2,
            "type" or "scroll" => string.Equals(action.Text.Trim(), expected.Text, StringComparison.Ordinal),
            _ => true,
        };
    }

    private void WriteStep(StepResult result, string instruction, bool? hit)
    {
        var action = result.ParseCase == StepResult.ParseOneofCase.Action ? Describe(result.Action) : $"(no action: {result.ParseError})";
        var verdict = hit switch { true => "hit ", false => "miss", null => "    " };
        var f = result.Figures;
        var share = f.FullKvBytes == 0 ? 0 : (double)f.KvBytes / f.FullKvBytes;
        Write(string.Create(CultureInfo.InvariantCulture, $"step {result.StepIndex,2}  {Quote(instruction),-58} → {action,-24} {verdict}  KV {Bytes(f.KvBytes),10} of {Bytes(f.FullKvBytes),10} full ({share * 100:F0}%)  prefill {f.PrefillMs:F0} ms, compress {f.CompressMs:F0} ms, decode {f.DecodeMs:F0} ms"));
    }

    private static string Quote(string instruction) => instruction.Length <= 56 ? $"\"{instruction}\"" : $"\"{instruction[..53]}...\"";

    private static string Describe(ParsedAction action)
    {
        var text = action.Name;
        if (action.Point is { } p)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" ({p.X:F0}, {p.Y:F0})");
        }

        if (action.EndPoint is { } e)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" → ({e.X:F0}, {e.Y:F0})");
        }

        if (!string.IsNullOrEmpty(action.Text))
        {
            text += $" '{action.Text}'";
        }

        return text;
    }

    private static string Bytes(long bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 20):F2} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB");

    private void Write(string line) => output.WriteLine(line);
}
