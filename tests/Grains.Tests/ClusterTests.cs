using StarKv.Grains.Admin;
using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;
using StarKv.Grains.Tests.Fakes;

namespace StarKv.Grains.Tests;

/// <summary>Two real silos in one process: placement, affinity, migration, drain and crash recovery.</summary>
public sealed class ClusterTests
{
    private static StepInput Input(long index, int seed) => new() { StepIndex = index, Screenshot = TestScreens.Png(seed, 84, 56), Instruction = $"open the menu {seed}" };

    [Fact]
    public async Task New_sessions_go_to_the_silo_with_the_most_free_kv_memory()
    {
        // A: 4 MB budget, B: 3 MB budget. Every step of the fake adds ≤ 1 KiB × tokens kept.
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(device: "cuda:0"), 4_000_000), new(new FakeModelRuntime(device: "cuda:1"), 3_000_000)]);
        var reports = await cluster.Registry.GetReportsAsync();
        var big = reports.Single(r => r.KvBudgetBytes == 4_000_000).Silo;
        var small = reports.Single(r => r.KvBudgetBytes == 3_000_000).Silo;

        var first = await cluster.CreateAsync("t", "first");
        Assert.Equal(big, first.Silo);

        // Fill the bigger silo until it has less free memory than the smaller one: 1.2 MB of kept KV with budget 1.0.
        var heavy = await cluster.CreateAsync("t", "heavy", new SessionConfig { ModelId = "tiny", BudgetRatio = 1.0 });
        Assert.Equal(big, heavy.Silo);
        var grain = cluster.Session("t", "heavy");
        for (var i = 0; i < 3; i++)
        {
            await grain.StepAsync(new StepInput { StepIndex = i, Screenshot = TestScreens.Png(i, 560, 560), Instruction = "scroll" });
        }

        var kv = (await grain.GetAsync()).KvBytes;
        Assert.True(kv > 1_000_000, $"the heavy session holds {kv} bytes");
        await cluster.WaitForReportsAsync(2, r => r.Single(x => x.Silo == big).KvBytesInUse >= kv);

        var second = await cluster.CreateAsync("t", "second");
        Assert.Equal(small, second.Silo);

        var choice = await cluster.Registry.ChooseSiloAsync("other-model", null);
        Assert.Null(choice.Silo);
        Assert.Contains("no silo serves model 'other-model'", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Steps_are_served_by_one_activation_are_idempotent_and_a_migrated_session_answers_like_its_twin()
    {
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(device: "cuda:0"), 8_000_000), new(new FakeModelRuntime(device: "cuda:1"), 8_000_000)]);
        await cluster.CreateAsync("t", "moved");
        await cluster.CreateAsync("t", "twin");
        var moved = cluster.Session("t", "moved");
        var twin = cluster.Session("t", "twin");

        var records = new List<StepRecord>();
        for (var i = 0; i < 4; i++)
        {
            records.Add(await moved.StepAsync(Input(i, i)));
            await twin.StepAsync(Input(i, i));
        }

        var home = records[0].Figures.Silo;
        Assert.All(records, r => Assert.Equal(home, r.Figures.Silo));
        var homeRuntime = cluster.RuntimeOf(home);
        Assert.Equal(0, homeRuntime.SessionsRestored);

        // A retried index replays the stored result; a gap is refused with the expected index.
        var replay = await moved.StepAsync(Input(3, 99));
        Assert.True(replay.Replayed);
        Assert.Equal(records[3].Text, replay.Text);
        var gap = await Assert.ThrowsAsync<StarKvException>(() => moved.StepAsync(Input(6, 6)));
        Assert.Equal(StarKvErrorKind.InvalidArgument, gap.Kind);
        Assert.Contains("next step_index is 4", gap.Message, StringComparison.Ordinal);

        var ticket = await new ClusterAdmin(cluster.Client, TimeProvider.System).MigrateSessionAsync(new SessionKey("t", "moved"), null);
        Assert.Equal(home, ticket.FromSilo);
        Assert.NotEqual(home, ticket.ToSilo);

        var afterMove = await WaitUntilAsync(() => moved.GetAsync(), s => s.Silo == ticket.ToSilo);
        var next = await moved.StepAsync(Input(4, 4));
        var twinNext = await twin.StepAsync(Input(4, 4));
        Assert.Equal(ticket.ToSilo, next.Figures.Silo);
        Assert.Equal(twinNext.Text, next.Text);
        Assert.Equal(twinNext.Figures.KvBytes, next.Figures.KvBytes);
        Assert.Equal(1, cluster.RuntimeOf(ticket.ToSilo).SessionsRestored);
        Assert.Equal(4, afterMove.StepsTaken);
    }

    [Fact]
    public async Task Sessions_of_a_killed_silo_come_back_on_the_other_from_their_checkpoints()
    {
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime(), 8_000_000)]);
        var names = Enumerable.Range(0, 6).Select(i => $"s{i}").ToList();
        var texts = new Dictionary<string, string>();
        foreach (var name in names)
        {
            await cluster.CreateAsync("t", name);
            await cluster.Session("t", name).StepAsync(Input(0, name.GetHashCode(StringComparison.Ordinal)));
            texts[name] = (await cluster.Session("t", name).StepAsync(Input(1, 7))).Text;
        }

        var placements = new Dictionary<string, string>();
        foreach (var name in names)
        {
            placements[name] = (await cluster.Session("t", name).GetAsync()).Silo;
        }

        var victimSilo = cluster.Cluster.Silos.First(s => placements.ContainsValue(s.SiloAddress.ToParsableString()));
        var victim = victimSilo.SiloAddress.ToParsableString();
        var survivor = cluster.Cluster.Silos.Single(s => s != victimSilo).SiloAddress.ToParsableString();
        await cluster.Cluster.KillSiloAsync(victimSilo);

        foreach (var name in names)
        {
            var retried = await WaitUntilAsync(() => cluster.Session("t", name).StepAsync(Input(1, 7)), _ => true);
            Assert.Equal(texts[name], retried.Text);
            var next = await cluster.Session("t", name).StepAsync(Input(2, 8));
            Assert.Equal(survivor, next.Figures.Silo);
        }

        Assert.True(cluster.RuntimeOf(survivor).SessionsRestored >= names.Count(n => placements[n] == victim));
    }

    [Fact]
    public async Task Draining_a_silo_moves_every_session_without_losing_one()
    {
        await using var cluster = await StarKvTestCluster.StartAsync([new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime(), 8_000_000)]);
        var names = Enumerable.Range(0, 8).Select(i => $"d{i}").ToList();
        foreach (var name in names)
        {
            await cluster.CreateAsync("t", name);
            await cluster.Session("t", name).StepAsync(Input(0, 1));
        }

        var placements = new Dictionary<string, string>();
        foreach (var name in names)
        {
            placements[name] = (await cluster.Session("t", name).GetAsync()).Silo;
        }

        var drained = placements.Values.GroupBy(s => s).OrderByDescending(g => g.Count()).First().Key;
        var admin = new ClusterAdmin(cluster.Client, TimeProvider.System);
        var outcome = await admin.DrainSiloAsync(drained, TimeSpan.FromSeconds(30), force: false, CancellationToken.None);

        Assert.Equal(0, outcome.RemainingSessions);
        Assert.Equal(placements.Values.Count(s => s == drained), outcome.MovedSessions);
        foreach (var name in names)
        {
            var next = await cluster.Session("t", name).StepAsync(Input(1, 2));
            Assert.NotEqual(drained, next.Figures.Silo);
            Assert.Equal(1, next.StepIndex);
        }

        var refused = await cluster.Registry.ChooseSiloAsync("tiny", excludeSilo: null);
        Assert.NotEqual(drained, refused.Silo);
    }

    [Fact]
    public async Task A_silo_shutting_down_gracefully_hands_its_sessions_to_the_other_first()
    {
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime(), 8_000_000)], shutdownMoveTimeout: TimeSpan.FromSeconds(20));
        var names = Enumerable.Range(0, 4).Select(i => $"g{i}").ToList();
        var placements = new Dictionary<string, string>();
        foreach (var name in names)
        {
            await cluster.CreateAsync("t", name);
            placements[name] = (await cluster.Session("t", name).StepAsync(Input(0, 3))).Figures.Silo;
        }

        var leaving = cluster.Cluster.Silos.First(s => placements.ContainsValue(s.SiloAddress.ToParsableString()));
        var survivor = cluster.Cluster.Silos.Single(s => s != leaving).SiloAddress.ToParsableString();
        var moving = placements.Values.Count(s => s == leaving.SiloAddress.ToParsableString());
        var restoredBefore = cluster.RuntimeOf(survivor).SessionsRestored;

        await cluster.Cluster.StopSiloAsync(leaving);

        // Restored on the survivor while the other silo was stopping, before any new step asked for them.
        Assert.Equal(restoredBefore + moving, cluster.RuntimeOf(survivor).SessionsRestored);
        foreach (var name in names)
        {
            var next = await cluster.Session("t", name).StepAsync(Input(1, 4));
            Assert.Equal(survivor, next.Figures.Silo);
        }
    }

    [Fact]
    public async Task A_silo_over_its_high_watermark_moves_its_largest_idle_session()
    {
        // Both silos have 2 MB; at watermark 0.5 a silo sheds idle sessions above 1 MB.
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(), 2_000_000, 0.5), new(new FakeModelRuntime(), 2_000_000, 0.5)], idleAfter: TimeSpan.FromMilliseconds(300));
        await cluster.CreateAsync("t", "big", new SessionConfig { ModelId = "tiny", BudgetRatio = 1.0 });
        var big = cluster.Session("t", "big");
        var start = (await big.GetAsync()).Silo;
        for (var i = 0; i < 3; i++)
        {
            await big.StepAsync(new StepInput { StepIndex = i, Screenshot = TestScreens.Png(i, 560, 560), Instruction = "scroll" });
        }

        var kv = (await big.GetAsync()).KvBytes;
        Assert.InRange(kv, 1_000_001, 2_000_000);
        var moved = await WaitUntilAsync(() => big.GetAsync(), s => s.Silo != start);
        Assert.Equal(3, moved.StepsTaken);
    }

    [Fact]
    public async Task A_checkpoint_of_another_model_is_refused_with_both_fingerprints()
    {
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(fingerprint: "fp-a"), 8_000_000), new(new FakeModelRuntime(fingerprint: "fp-b"), 8_000_000)]);
        await cluster.CreateAsync("t", "s");
        var grain = cluster.Session("t", "s");
        var first = await grain.StepAsync(Input(0, 1));
        var ticket = await grain.MigrateAsync(null);
        await WaitUntilAsync(() => grain.GetAsync(), s => s.Silo == ticket.ToSilo);

        var error = await Assert.ThrowsAsync<StarKvException>(() => grain.StepAsync(Input(1, 2)));
        Assert.Equal(StarKvErrorKind.FailedPrecondition, error.Kind);
        Assert.Contains(first.Figures.Silo == ticket.ToSilo ? "fp-b" : "fp-a", error.Message, StringComparison.Ordinal);
    }

    private static async Task<T> WaitUntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
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
                // The silo is still being declared dead or the activation is moving; try again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not hold in time.");
            }

            await Task.Delay(100);
        }
    }
}
