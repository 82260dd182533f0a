using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using StarKv.Gateway.Sessions;
using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;
using StarKv.Grains.Tests;
using StarKv.Grains.Tests.Fakes;

namespace StarKv.Gateway.Tests.Hardening;

/// <summary>
/// A gateway call held by a silo that dies is released as UNAVAILABLE once the cluster declares the silo dead, instead of
/// after Orleans' response timeout; a call held by a live silo is left to finish.
/// </summary>
public sealed class DeadSiloTests
{
    private static StepInput Input(long index) => new() { StepIndex = index, Screenshot = TestScreens.Png(1, 84, 56), Instruction = "open the menu" };

    [Fact]
    public async Task A_call_on_a_killed_silo_fails_fast_as_unavailable_and_a_call_on_a_live_one_finishes()
    {
        var doomed = new FakeModelRuntime(device: "cuda:0");
        var healthy = new FakeModelRuntime(device: "cuda:1");
        await using var cluster = await StarKvTestCluster.StartAsync([new(doomed, 8_000_000), new(healthy, 8_000_000)]);
        var calls = new SessionCalls(cluster.Client, TimeProvider.System, NullLogger<SessionCalls>.Instance);
        var liveness = new SiloLiveness(cluster.Client, calls, NullLogger<SiloLiveness>.Instance);
        await liveness.CheckAsync(CancellationToken.None);

        // One session on each silo, each with a step that will not end by itself.
        var sessions = new Dictionary<FakeModelRuntime, SessionKey>();
        for (var i = 0; sessions.Count < 2 && i < 40; i++)
        {
            var snapshot = await cluster.CreateAsync("t", $"s{i}");
            var runtime = cluster.RuntimeOf(snapshot.Silo);
            sessions.TryAdd(runtime, new SessionKey("t", $"s{i}"));
        }

        using var held = new ManualResetEventSlim(false);
        doomed.StepGate = held;
        healthy.StepGate = held;
        var onDoomed = calls.RunAsync(sessions[doomed], (grain, token) => grain.StepAsync(Input(0), token), CancellationToken.None);
        var onHealthy = calls.RunAsync(sessions[healthy], (grain, token) => grain.StepAsync(Input(0), token), CancellationToken.None);
        await WaitAsync(() => doomed.StepsRun == 1 && healthy.StepsRun == 1);

        var victim = cluster.Cluster.Silos.Single(s => cluster.RuntimeOf(s.SiloAddress.ToParsableString()) == doomed);
        var killed = Stopwatch.StartNew();
        await cluster.Cluster.KillSiloAsync(victim);
        var lost = new List<string>();
        while (!onDoomed.IsCompleted && killed.Elapsed < TimeSpan.FromSeconds(90))
        {
            lost.AddRange(await liveness.CheckAsync(CancellationToken.None));
            await Task.Delay(SiloLiveness.Period);
        }

        var error = await Assert.ThrowsAsync<StarKvException>(() => onDoomed);
        Assert.Equal(StarKvErrorKind.Unavailable, error.Kind);
        Assert.Contains("left the cluster", error.Message, StringComparison.Ordinal);
        Assert.Contains(victim.SiloAddress.ToParsableString(), lost);
        Assert.False(onHealthy.IsCompleted, "the call on the live silo was released too");

        held.Set();
        var finished = await onHealthy;
        Assert.Equal(0, finished.StepIndex);
        Assert.Equal(0, calls.InFlight);

        // The client's retry of the same index lands on the session's new silo.
        var retried = await calls.RunAsync(sessions[doomed], (grain, token) => grain.StepAsync(Input(0), token), CancellationToken.None);
        Assert.NotEqual(victim.SiloAddress.ToParsableString(), retried.Figures.Silo);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
