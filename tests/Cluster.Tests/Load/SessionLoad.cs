using System.Diagnostics;
using Grpc.Core;
using StarKv.Grains.Tests.Fakes;
using StarKv.Protos.V1;

namespace StarKv.Cluster.Tests.Load;

/// <summary>
/// Drives sessions through the gateway in a loop: each session sends step 0, 1, 2, … and retries the same index after a
/// retryable status (steps are idempotent by index). Records every answer, every error by status, and step latencies.
/// </summary>
public sealed class SessionLoad(AgentGateway.AgentGatewayClient client, Metadata headers, int sessions, TimeSpan stepDeadline)
{
    /// <summary>Statuses after which the client retries the same step index.</summary>
    public static readonly IReadOnlySet<StatusCode> Retryable = new HashSet<StatusCode> { StatusCode.Unavailable, StatusCode.Aborted, StatusCode.DeadlineExceeded };

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private readonly Dictionary<StatusCode, int> _errors = [];
    private readonly List<double> _latenciesMs = [];
    private readonly List<double> _stepTimesMs = [];
    private readonly List<string> _fatal = [];
    private readonly List<StepAttempt> _attempts = [];

    public IReadOnlyList<SessionTrack> Sessions { get; } = [.. Enumerable.Range(0, sessions).Select(i => new SessionTrack($"s{i:D2}"))];

    public TimeSpan Now => _clock.Elapsed;

    public static byte[] Screenshot(long stepIndex) => Screens[(int)(stepIndex % Screens.Length)];

    public static string Instruction(long stepIndex) => $"Open the settings and enable dark mode (step {stepIndex}).";

    private static readonly byte[][] Screens = [.. Enumerable.Range(0, 4).Select(seed => TestScreens.Png(seed, 56, 56))];

    public IReadOnlyDictionary<StatusCode, int> ErrorsByStatus
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<StatusCode, int>(_errors);
            }
        }
    }

    public IReadOnlyList<double> LatenciesMs
    {
        get
        {
            lock (_gate)
            {
                return [.. _latenciesMs];
            }
        }
    }

    /// <summary>Per step index: from its first attempt until it was answered, retries included (what the agent waited).</summary>
    public IReadOnlyList<double> StepTimesMs
    {
        get
        {
            lock (_gate)
            {
                return [.. _stepTimesMs];
            }
        }
    }

    /// <summary>Every attempt, answered or failed, in the order they ended.</summary>
    public IReadOnlyList<StepAttempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Non-retryable errors: any one fails the test.</summary>
    public IReadOnlyList<string> Fatal
    {
        get
        {
            lock (_gate)
            {
                return [.. _fatal];
            }
        }
    }

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(Sessions, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (session, token) =>
        {
            var request = new CreateSessionRequest
            {
                SessionId = session.Id,
                Model = "tiny",
                Method = "starkv",
                Budget = new Budget { Ratio = 0.5 },
                Options = new SessionOptions { MaxNewTokens = 6, Task = "Turn on dark mode." },
            };
            await client.CreateSessionAsync(request, headers, deadline: DateTime.UtcNow.Add(stepDeadline), cancellationToken: token).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>Steps every session until <paramref name="stop"/> is cancelled; each session finishes the step it is on.</summary>
    public Task RunAsync(CancellationToken stop) => Task.WhenAll(Sessions.Select(s => Task.Run(() => LoopAsync(s, stop), CancellationToken.None)));

    private async Task LoopAsync(SessionTrack session, CancellationToken stop)
    {
        var firstAttempt = _clock.Elapsed;
        while (!stop.IsCancellationRequested)
        {
            var index = session.StepsConfirmed;
            var started = _clock.Elapsed;
            try
            {
                var result = await client.StepAsync(new StepRequest
                {
                    SessionId = session.Id,
                    StepIndex = index,
                    Screenshot = Google.Protobuf.ByteString.CopyFrom(Screenshot(index)),
                    Instruction = Instruction(index),
                }, headers, deadline: DateTime.UtcNow.Add(stepDeadline), cancellationToken: CancellationToken.None).ConfigureAwait(false);
                var now = _clock.Elapsed;
                lock (_gate)
                {
                    _latenciesMs.Add((now - started).TotalMilliseconds);
                    _stepTimesMs.Add((now - firstAttempt).TotalMilliseconds);
                    _attempts.Add(new StepAttempt(session.Id, index, started, now, StatusCode.OK));
                }

                firstAttempt = now;

                if (result.StepIndex != index)
                {
                    Fail($"{session.Id}: asked for step {index}, the answer is step {result.StepIndex}");
                    return;
                }

                session.Confirm(new StepObservation(index, result.Figures.Silo, result.Figures.SeenTokens, result.Text, result.Replayed, started, now));
            }
            catch (RpcException error) when (Retryable.Contains(error.StatusCode))
            {
                Count(error.StatusCode);
                lock (_gate)
                {
                    _attempts.Add(new StepAttempt(session.Id, index, started, _clock.Elapsed, error.StatusCode));
                }

                session.Retried();
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RpcException error)
            {
                Count(error.StatusCode);
                Fail($"{session.Id} step {index}: {error.StatusCode}: {error.Status.Detail}");
                return;
            }
        }
    }

    private void Count(StatusCode code)
    {
        lock (_gate)
        {
            _errors[code] = _errors.GetValueOrDefault(code) + 1;
        }
    }

    private void Fail(string message)
    {
        lock (_gate)
        {
            _fatal.Add(message);
        }
    }
}

/// <summary>What the client knows of one session: the steps it has had answered, in order.</summary>
public sealed class SessionTrack(string id)
{
    private readonly List<StepObservation> _steps = [];

    public string Id { get; } = id;

    /// <summary>Steps answered so far, which is also the next step index to send.</summary>
    public long StepsConfirmed
    {
        get
        {
            lock (_steps)
            {
                return _steps.Count;
            }
        }
    }

    public int Retries { get; private set; }

    public IReadOnlyList<StepObservation> Steps
    {
        get
        {
            lock (_steps)
            {
                return [.. _steps];
            }
        }
    }

    public StepObservation? Last
    {
        get
        {
            lock (_steps)
            {
                return _steps.Count == 0 ? null : _steps[^1];
            }
        }
    }

    public void Confirm(StepObservation step)
    {
        lock (_steps)
        {
            _steps.Add(step);
        }
    }

    public void Retried()
    {
        lock (_steps)
        {
            Retries++;
        }
    }
}
