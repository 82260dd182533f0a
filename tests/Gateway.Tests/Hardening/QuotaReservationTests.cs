using Grpc.Core;
using StarKv.Grains.Tenants;
using StarKv.Protos.V1;

namespace StarKv.Gateway.Tests.Hardening;

/// <summary>
/// A CreateSession that fails gives its quota slot back, whatever failed: tenant "quota" may hold one session, so after
/// each failure a good CreateSession must still succeed (and then be closed, freeing the slot for the next path).
/// </summary>
public sealed class QuotaReservationTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>
{
    private static Metadata Quota => EmbeddedCluster.Bearer(EmbeddedCluster.KeyQuota);

    private static CreateSessionRequest Create(string id, string method = "starkv") =>
        new() { SessionId = id, Model = "tiny", Method = method, Budget = new Budget { Ratio = 0.5 } };

    [Fact]
    public async Task Every_failed_create_gives_its_slot_back()
    {
        // Unknown method: refused by the runtime on the silo after the slot was taken (an ArgumentException there).
        for (var i = 0; i < 3; i++)
        {
            var typo = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(Create($"typo-{i}", "snapvk"), Quota).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, typo.StatusCode);
        }

        await SlotIsFreeAsync("after-typos");

        // A closed id created again: ALREADY_EXISTS, and the slot the attempt took goes back.
        for (var i = 0; i < 3; i++)
        {
            var again = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(Create("after-typos"), Quota).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        }

        await SlotIsFreeAsync("after-closed-id");

        // Any other exception on the silo (here the runtime fails as a broken device would).
        cluster.Runtime.CreateFault = options => options.Task == "break" ? new InvalidOperationException("The device is gone.") : null;
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var request = Create($"broken-{i}");
                request.Options = new Protos.V1.SessionOptions { Task = "break" };
                var broken = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(request, Quota).ResponseAsync);
                Assert.Equal(StatusCode.Internal, broken.StatusCode);
            }
        }
        finally
        {
            cluster.Runtime.CreateFault = null;
        }

        await SlotIsFreeAsync("after-faults");
    }

    [Fact]
    public async Task The_same_create_again_keeps_one_slot_and_a_failed_repeat_does_not_free_it()
    {
        var tight = EmbeddedCluster.Bearer(EmbeddedCluster.KeyTight);
        await cluster.Client.CreateSessionAsync(Create("held"), tight);
        await cluster.Client.CreateSessionAsync(Create("held"), tight);
        var conflicting = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(Create("held", "snapkv"), tight).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, conflicting.StatusCode);

        // The session still holds its slot (quota 2: one more fits, a third does not).
        await cluster.Client.CreateSessionAsync(Create("second"), tight);
        var full = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(Create("third"), tight).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
        await cluster.Client.CloseSessionAsync(new CloseSessionRequest { SessionId = "held" }, tight);
        await cluster.Client.CloseSessionAsync(new CloseSessionRequest { SessionId = "second" }, tight);
    }

    [Fact]
    public async Task The_reservation_gives_back_only_a_new_slot_and_only_when_not_kept()
    {
        var ledger = new RecordingLedger();

        await using (await SessionReservation.ReserveAsync(ledger, "lost", 5))
        {
        }

        await using (var kept = await SessionReservation.ReserveAsync(ledger, "kept", 5))
        {
            kept.Keep();
        }

        ledger.Held.Add("old");
        await using (var existing = await SessionReservation.ReserveAsync(ledger, "old", 5))
        {
            Assert.False(existing.IsNew);
        }

        var failures = new List<Exception>();
        ledger.FailRelease = true;
        await using (await SessionReservation.ReserveAsync(ledger, "unlucky", 5, failures.Add))
        {
        }

        Assert.Equal(["lost", "unlucky"], ledger.Released);
        Assert.Contains("kept", ledger.Held);
        Assert.Contains("old", ledger.Held);
        Assert.Single(failures);
    }

    private async Task SlotIsFreeAsync(string id)
    {
        await cluster.Client.CreateSessionAsync(Create(id), Quota);
        var second = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(Create(id + "-2"), Quota).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, second.StatusCode);
        await cluster.Client.CloseSessionAsync(new CloseSessionRequest { SessionId = id }, Quota);
    }

    private sealed class RecordingLedger : ITenantLedgerGrain
    {
        public HashSet<string> Held { get; } = [];

        public List<string> Released { get; } = [];

        public bool FailRelease { get; set; }

        public Task<bool> ReserveSessionAsync(string sessionId, int maxSessions) => Task.FromResult(Held.Add(sessionId));

        public Task ReleaseSessionAsync(string sessionId)
        {
            Released.Add(sessionId);
            Held.Remove(sessionId);
            return FailRelease ? Task.FromException(new TimeoutException("the ledger is unreachable")) : Task.CompletedTask;
        }

        public Task ReportKvBytesAsync(string sessionId, long kvBytes) => Task.CompletedTask;

        public Task<TenantUsage> GetUsageAsync() => Task.FromResult(new TenantUsage(Held.Count, 0));
    }
}
