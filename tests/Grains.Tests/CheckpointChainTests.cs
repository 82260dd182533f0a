using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StarKv.Grains.Errors;
using StarKv.Grains.Sessions;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Tests.Fakes;

namespace StarKv.Grains.Tests;

/// <summary>The trajectory grain's checkpoint chain: deltas on the step's path, full checkpoints in the background.</summary>
public sealed class CheckpointChainTests
{
    [Fact]
    public async Task Each_step_writes_a_delta_and_a_background_full_checkpoint_rebases_the_chain_and_prunes_the_rest()
    {
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(), 8_000_000), new(new FakeModelRuntime(), 8_000_000)],
            configureServices: (_, services) => services.Configure<SessionCheckpointOptions>(o => o.FullEvery = 2));
        await cluster.CreateAsync("t", "chain");
        await cluster.CreateAsync("t", "twin");
        var grain = cluster.Session("t", "chain");
        var twin = cluster.Session("t", "twin");
        var records = new List<StepRecord>();
        for (var i = 0; i < 7; i++)
        {
            records.Add(await grain.StepAsync(Input(i)));
            await twin.StepAsync(Input(i));
            Assert.True(records[^1].Figures.CheckpointMs > 0);
            await Task.Delay(500); // lets a background full checkpoint finish before the next step looks for it
        }

        // Step 0 wrote the first full checkpoint, then one delta per step. Once two deltas follow the full one, a full
        // checkpoint is written in the background (after steps 2, 4, 6); the next step makes the chain start from it and
        // deletes every older blob. Left: the full one of step 4, the deltas of steps 5 and 6, and the full one of step 6.
        var folder = Path.Combine(cluster.Root, "kv", "kv", "t~2Fchain");
        var steps = Directory.GetFiles(folder, "*.kvc").Select(f => int.Parse(Path.GetFileName(f)[..12], System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal([4, 5, 6, 6], steps);

        // Migrated, the session is restored from the full checkpoint of step 4 and the deltas of steps 5 and 6.
        var ticket = await grain.MigrateAsync(null);
        var next = await WaitForStepAsync(grain, Input(7));
        Assert.Equal(ticket.ToSilo, next.Figures.Silo);
        Assert.Equal((await twin.StepAsync(Input(7))).Text, next.Text);
        var target = cluster.RuntimeOf(ticket.ToSilo);
        Assert.Equal(1, target.SessionsRestored);
        Assert.Equal(2, target.DeltasApplied);
    }

    [Fact]
    public async Task A_step_whose_delta_cannot_be_written_fails_and_its_retry_runs_again_from_the_chain()
    {
        var flaky = new FailingWrites();
        await using var cluster = await StarKvTestCluster.StartAsync(
            [new(new FakeModelRuntime(), 8_000_000)],
            configureServices: (root, services) => services.AddSingleton<IKvCheckpointStore>(
                new FlakyKvCheckpointStore(new FileSystemKvCheckpointStore(Options.Create(new FileSystemKvCheckpointStoreOptions { RootPath = Path.Combine(root, "kv") })), flaky)));
        await cluster.CreateAsync("t", "flaky");
        await cluster.CreateAsync("t", "steady");
        var grain = cluster.Session("t", "flaky");
        var steady = cluster.Session("t", "steady");
        for (var i = 0; i < 3; i++)
        {
            await grain.StepAsync(Input(i));
            await steady.StepAsync(Input(i));
        }

        var runtime = cluster.RuntimeOf((await grain.GetAsync()).Silo);
        flaky.FailNext = 1;
        await Assert.ThrowsAnyAsync<Exception>(() => grain.StepAsync(Input(3)));
        Assert.Equal(3, (await grain.GetAsync()).StepsTaken);

        var restored = runtime.SessionsRestored;
        var retried = await grain.StepAsync(Input(3));
        Assert.False(retried.Replayed);
        Assert.Equal((await steady.StepAsync(Input(3))).Text, retried.Text);
        Assert.Equal(restored + 1, runtime.SessionsRestored);
        Assert.Equal(4, (await grain.GetAsync()).StepsTaken);
    }

    private static StepInput Input(int index) => new()
    {
        StepIndex = index,
        Screenshot = TestScreens.Png(index, 84, 56),
        Instruction = $"step {index}",
    };

    private static async Task<StepRecord> WaitForStepAsync(ITrajectoryGrain grain, StepInput input)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await grain.StepAsync(input);
            }
            catch (StarKvException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>How many streamed writes to fail next.</summary>
    private sealed class FailingWrites
    {
        private int _failNext;

        public int FailNext
        {
            get => Volatile.Read(ref _failNext);
            set => Volatile.Write(ref _failNext, value);
        }

        public bool TakeFailure()
        {
            while (true)
            {
                var left = Volatile.Read(ref _failNext);
                if (left <= 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _failNext, left - 1, left) == left)
                {
                    return true;
                }
            }
        }
    }

    /// <summary>A store whose streamed writes fail while <see cref="FailingWrites.FailNext"/> says so.</summary>
    private sealed class FlakyKvCheckpointStore(IKvCheckpointStore inner, FailingWrites failures) : IKvCheckpointStore
    {
        public Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint, CancellationToken cancellationToken) =>
            inner.WriteAsync(sessionKey, stepIndex, checkpoint, cancellationToken);

        public Task<CheckpointReference> WriteAsync(string sessionKey, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken) =>
            failures.TakeFailure()
                ? throw new CheckpointStoreException("kv/flaky", "The store refused the write (injected).", null)
                : inner.WriteAsync(sessionKey, stepIndex, modelFingerprint, writePayload, cancellationToken);

        public Task<byte[]> ReadAsync(CheckpointReference reference, CancellationToken cancellationToken) => inner.ReadAsync(reference, cancellationToken);

        public Task DeleteAsync(string sessionKey, CancellationToken cancellationToken) => inner.DeleteAsync(sessionKey, cancellationToken);

        public Task PruneAsync(string sessionKey, IReadOnlyCollection<CheckpointReference> keep, CancellationToken cancellationToken) =>
            inner.PruneAsync(sessionKey, keep, cancellationToken);
    }
}
