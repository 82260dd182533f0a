using Microsoft.Extensions.Logging;
using StarKv.Grains.Admin;
using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;

namespace StarKv.Grains.Tests.Placement;

/// <summary>Placement, drain and shutdown under the conditions that used to go wrong: fresh silos, the last silo, dead silos.</summary>
public sealed class PlacementHardeningTests
{
    private const string PublisherLogs = "StarKv.Grains.Placement.SiloLoadPublisher";

    private static StepInput Input(long index, int seed, int size = 84) => new() { StepIndex = index, Screenshot = TestScreens.Png(seed, size, size), Instruction = $"open the menu {seed}" };

    [Fact]
    public async Task A_silo_holding_no_kv_yet_takes_new_sessions_only_until_their_estimates_fill_it()
    {
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(device: "cuda:0"), 4_000_000), new(new FakeModelRuntime(device: "cuda:1"), 4_000_000)]);
        var heavy = await cluster.CreateAsync("t", "heavy", new SessionConfig { ModelId = "tiny", BudgetRatio = 1.0 });
        for (var i = 0; i < 3; i++)
        {
            await cluster.Session("t", "heavy").StepAsync(Input(i, i, 560));
        }

        var kv = (await cluster.Session("t", "heavy").GetAsync()).KvBytes;
        await cluster.WaitForReportsAsync(2, r => r.Single(x => x.Silo == heavy.Silo).KvBytesInUse >= kv);

        // Each new session (25%) counts 0.25 × 1000 tokens × 1 KiB = 256,000 bytes before it holds any KV; without that
        // estimate every one of them would go to the empty silo.
        var placed = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            placed.Add((await cluster.CreateAsync("t", $"new-{i}")).Silo);
        }

        var onHeavy = placed.Count(s => s == heavy.Silo);
        Assert.True(onHeavy >= 3, $"{onHeavy} of 12 new sessions went to the silo holding {kv} bytes; the other took the rest");
        Assert.True(12 - onHeavy >= 5, $"the empty silo took only {12 - onHeavy} of 12");
        var reports = await cluster.WaitForReportsAsync(2, r => r.Sum(x => x.Sessions) == 13);
        Assert.All(reports, r => Assert.True(r.KvBytesReserved >= 256_000 * placed.Count(s => s == r.Silo) - 1, $"{r.Silo} reserves {r.KvBytesReserved}"));
    }

    [Fact]
    public async Task The_last_silo_of_a_model_drains_only_when_forced_logs_each_state_once_and_undrains()
    {
        var logs = new CapturedLogs(PublisherLogs);
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(), 8_000_000)], logs: logs);
        await cluster.CreateAsync("t", "only");
        await cluster.Session("t", "only").StepAsync(Input(0, 1));
        var silo = (await cluster.Registry.GetReportsAsync()).Single().Silo;
        var admin = new ClusterAdmin(cluster.Client, TimeProvider.System);

        var refused = await Assert.ThrowsAsync<StarKvException>(() => admin.DrainSiloAsync(silo, TimeSpan.FromSeconds(5), force: false, CancellationToken.None));
        Assert.Equal(StarKvErrorKind.FailedPrecondition, refused.Kind);
        Assert.Contains("is the last silo serving model 'tiny'", refused.Message, StringComparison.Ordinal);
        Assert.False((await cluster.Registry.GetReportsAsync()).Single().Draining);

        // Forced: the session stays (nowhere to go), new sessions are refused, and 2 s of 100 ms ticks say so once.
        var forced = await admin.DrainSiloAsync(silo, TimeSpan.FromSeconds(2), force: true, CancellationToken.None);
        Assert.Equal(1, forced.RemainingSessions);
        var none = await cluster.Registry.ChooseSiloAsync("tiny", excludeSilo: null);
        Assert.Null(none.Silo);
        Assert.Contains("is draining", none.Reason, StringComparison.Ordinal);
        var stuck = logs.Lines.Where(l => l.Message.Contains("cannot move", StringComparison.Ordinal)).ToList();
        Assert.Single(stuck);
        Assert.Equal(LogLevel.Warning, stuck[0].Level);
        Assert.DoesNotContain(logs.Lines, l => l.HasException);

        var back = await admin.UndrainSiloAsync(silo, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.False(back.Draining);
        Assert.Equal(silo, (await cluster.Registry.ChooseSiloAsync("tiny", excludeSilo: null)).Silo);
        Assert.Equal(silo, (await cluster.CreateAsync("t", "after-undrain")).Silo);
        Assert.Single(logs.Lines, l => l.Message.Contains("takes new sessions again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_lone_silo_stops_at_once_with_one_summary_instead_of_a_warning_per_session_and_retry()
    {
        var logs = new CapturedLogs(PublisherLogs);
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(), 8_000_000)], shutdownMoveTimeout: TimeSpan.FromSeconds(20), logs: logs);
        for (var i = 0; i < 5; i++)
        {
            await cluster.CreateAsync("t", $"open-{i}");
            await cluster.Session("t", $"open-{i}").StepAsync(Input(0, i));
        }

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos[0]);

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
        var warnings = logs.Lines.Where(l => l.Level >= LogLevel.Warning).ToList();
        var summary = Assert.Single(warnings);
        Assert.Contains("with 5 sessions not moved (0 moved)", summary.Message, StringComparison.Ordinal);
        Assert.Contains("no other silo", summary.Message, StringComparison.Ordinal);
        Assert.False(summary.HasException);
    }

    [Fact]
    public async Task After_a_silo_dies_the_others_still_hold_the_load_view_and_its_sessions_return_on_a_silo_of_their_model()
    {
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime("other", "fp-other"), 8_000_000)]);
        var names = Enumerable.Range(0, 6).Select(i => $"s{i}").ToList();
        var placements = new Dictionary<string, string>();
        foreach (var name in names)
        {
            await cluster.CreateAsync("t", name);
            placements[name] = (await cluster.Session("t", name).StepAsync(Input(0, 1))).Figures.Silo;
        }

        var victim = cluster.Cluster.Silos.First(s => placements.ContainsValue(s.SiloAddress.ToParsableString()));
        var victimAddress = victim.SiloAddress.ToParsableString();
        var other = (await cluster.Registry.GetReportsAsync()).Single(r => r.ModelId == "other").Silo;
        await cluster.Cluster.KillSiloAsync(victim);

        // No single activation held the view: the survivors answer from theirs at once.
        var reports = await cluster.Registry.GetReportsAsync();
        Assert.Contains(reports, r => r.ModelId == "other");
        Assert.Contains(reports, r => r.ModelId == "tiny" && r.Silo != victimAddress);

        foreach (var name in names.Where(n => placements[n] == victimAddress))
        {
            var next = await WaitUntilAsync(() => cluster.Session("t", name).StepAsync(Input(1, 2)), _ => true);
            Assert.NotEqual(victimAddress, next.Figures.Silo);
            Assert.NotEqual(other, next.Figures.Silo);
        }
    }

    private static async Task<T> WaitUntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                var value = await probe();
                if (done(value))
                {
                    return value;
                }
            }
            catch (Exception error) when (DateTime.UtcNow < deadline && error is not Xunit.Sdk.XunitException)
            {
                // The silo is still being declared dead; try again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not hold in time.");
            }

            await Task.Delay(100);
        }
    }
}
