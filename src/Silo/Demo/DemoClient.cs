using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using StarKv.Protos.V1;

namespace StarKv.Silo.Demo;

/// <summary>What the demo session runs: the model, the compression method and budget, and how many steps.</summary>
public sealed record DemoSettings
{
    public required string Model { get; init; }
    public string Method { get; init; } = "starkv";
    public double BudgetRatio { get; init; } = 0.2;
    public int Steps { get; init; } = 8;
    public int ScreenWidth { get; init; } = 1280;
    public int ScreenHeight { get; init; } = 720;
    public int Seed { get; init; } = 7;

    /// <summary>A folder of real screenshots to send instead of synthetic ones (for example samples/gui).</summary>
    public string? ScreenshotFolder { get; init; }
}

/// <summary>The demo session's end: steps run, and the KV bytes it holds against what a full cache would hold.</summary>
public sealed record DemoSummary(string SessionId, int Steps, long KvBytes, long FullKvBytes);

/// <summary>
/// A client of the gateway over real gRPC: creates a session, streams screenshots (<see cref="DemoScreens"/>) through <c>Run</c>, prints
/// each step's action and the session's KV bytes next to the full cache's, then closes the session.
/// </summary>
public sealed class DemoClient(Uri address, string apiKey, TextWriter output)
{
    private const string Instruction = "Open the Files window, select 'Budget.xlsx' in the list and press Open.";

    public async Task<DemoSummary> RunAsync(DemoSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var channel = GrpcChannel.ForAddress(address);
        var client = new AgentGateway.AgentGatewayClient(channel);
        var headers = new Metadata { { "authorization", $"Bearer {apiKey}" } };
        var sessionId = "demo-" + Guid.NewGuid().ToString("N")[..8];

        var info = await client.CreateSessionAsync(new CreateSessionRequest
        {
            SessionId = sessionId,
            Model = settings.Model,
            Method = settings.Method,
            Budget = new Budget { Ratio = settings.BudgetRatio },
            Options = new Protos.V1.SessionOptions { Task = Instruction, Seed = settings.Seed },
        }, headers, cancellationToken: cancellationToken);
        Write(string.Create(CultureInfo.InvariantCulture, $"session {info.SessionId} on {info.Silo}: model {info.Model}, method {info.Method}, budget {settings.BudgetRatio * 100:F0}% of the tokens seen"));

        var screens = settings.ScreenshotFolder is { } folder
            ? DemoScreens.FromFolder(folder, Instruction)
            : DemoScreens.Synthetic(settings.Seed, settings.ScreenWidth, settings.ScreenHeight, Instruction);
        using (var run = client.Run(headers, cancellationToken: cancellationToken))
        {
            for (var step = 0; step < settings.Steps; step++)
            {
                var screen = screens.ForStep(step);
                if (settings.ScreenshotFolder is not null)
                {
                    Write($"step {step,3}  sends {screen.Label}: \"{screen.Instruction}\"");
                }

                await run.RequestStream.WriteAsync(new StepRequest
                {
                    SessionId = sessionId,
                    StepIndex = step,
                    Screenshot = Google.Protobuf.ByteString.CopyFrom(screen.Image),
                    Instruction = screen.Instruction,
                }, cancellationToken);
                if (!await run.ResponseStream.MoveNext(cancellationToken))
                {
                    throw new InvalidOperationException($"The gateway closed the stream before answering step {step}.");
                }

                WriteStep(run.ResponseStream.Current);
            }

            await run.RequestStream.CompleteAsync();
            while (await run.ResponseStream.MoveNext(cancellationToken))
            {
                // The stream ends once the server has answered every step it was sent.
            }
        }

        var final = await client.GetSessionAsync(new GetSessionRequest { SessionId = sessionId }, headers, cancellationToken: cancellationToken);
        var ratio = final.KvBytes == 0 ? 0 : (double)final.FullKvBytes / final.KvBytes;
        Write(string.Create(CultureInfo.InvariantCulture, $"session {sessionId}: {final.StepsTaken} steps, {final.SeenTokens} tokens seen; KV held {Bytes(final.KvBytes)} vs {Bytes(final.FullKvBytes)} for the full cache ({ratio:F1}x smaller)"));
        await client.CloseSessionAsync(new CloseSessionRequest { SessionId = sessionId }, headers, cancellationToken: cancellationToken);
        return new DemoSummary(sessionId, (int)final.StepsTaken, final.KvBytes, final.FullKvBytes);
    }

    private void WriteStep(StepResult result)
    {
        var action = result.ParseCase == StepResult.ParseOneofCase.Action ? Describe(result.Action) : $"(no action: {result.ParseError})";
        var f = result.Figures;
        var share = f.FullKvBytes == 0 ? 0 : (double)f.KvBytes / f.FullKvBytes;
        Write(string.Create(CultureInfo.InvariantCulture, $"step {result.StepIndex,3}  {action,-34}  KV {Bytes(f.KvBytes),10} of {Bytes(f.FullKvBytes),10} full ({share * 100:F0}%)  prefill {f.PrefillMs:F0} ms, compress {f.CompressMs:F0} ms, decode {f.DecodeMs:F0} ms"));
    }

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
