using System.Buffers.Binary;
using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;
using StarKv.Protos.V1;

namespace StarKv.Gateway.Tests;

/// <summary>The gateway over real gRPC on loopback, in front of a real (embedded) silo.</summary>
public sealed class GatewayTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>
{
    private AgentGateway.AgentGatewayClient Client => cluster.Client;

    private static StepRequest Step(string session, long index, int seed = 1, string instruction = "open the menu") => new()
    {
        SessionId = session,
        StepIndex = index,
        Screenshot = ByteString.CopyFrom(TestScreens.Png(seed, 84, 56)),
        Instruction = instruction,
    };

    private static StepRequest Shot(StepRequest request, ByteString screenshot)
    {
        request.Screenshot = screenshot;
        return request;
    }

    private async Task<SessionInfo> CreateAsync(string key, string session, string model = "tiny") =>
        await Client.CreateSessionAsync(new CreateSessionRequest { SessionId = session, Model = model, Method = "starkv", Budget = new Budget { Ratio = 0.25 } }, EmbeddedCluster.Bearer(key));

    private static async Task<RpcException> FailsAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task Missing_or_unknown_keys_are_unauthenticated()
    {
        var missing = await FailsAsync(() => Client.GetSessionAsync(new GetSessionRequest { SessionId = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("Bearer", missing.Status.Detail, StringComparison.Ordinal);

        var wrong = await FailsAsync(() => Client.GetSessionAsync(new GetSessionRequest { SessionId = "x" }, EmbeddedCluster.Bearer("not-a-key")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal("Unknown API key.", wrong.Status.Detail);
    }

    [Fact]
    public async Task A_tenant_cannot_see_or_step_another_tenants_session()
    {
        await CreateAsync(EmbeddedCluster.KeyA, "private");
        var first = await Client.StepAsync(Step("private", 0), EmbeddedCluster.Bearer(EmbeddedCluster.KeyA));
        Assert.Equal(0, first.StepIndex);

        var get = await FailsAsync(() => Client.GetSessionAsync(new GetSessionRequest { SessionId = "private" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyB)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, get.StatusCode);
        var step = await FailsAsync(() => Client.StepAsync(Step("private", 1), EmbeddedCluster.Bearer(EmbeddedCluster.KeyB)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, step.StatusCode);

        // The owner's session went on untouched.
        var info = await Client.GetSessionAsync(new GetSessionRequest { SessionId = "private" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyA));
        Assert.Equal(1, info.StepsTaken);
    }

    [Fact]
    public async Task Bad_inputs_get_invalid_argument_or_not_found_naming_the_problem_and_other_sessions_keep_working()
    {
        var a = EmbeddedCluster.Bearer(EmbeddedCluster.KeyA);
        await CreateAsync(EmbeddedCluster.KeyA, "victim");
        await CreateAsync(EmbeddedCluster.KeyA, "bystander");
        await Client.StepAsync(Step("victim", 0), a);

        var png = TestScreens.Png(3, 84, 56);
        var corrupt = png[..40];
        var zeroSize = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(zeroSize.AsSpan(16), 0);
        var cases = new (StepRequest Request, StatusCode Code, string Message)[]
        {
            (Shot(Step("victim", 1), ByteString.CopyFrom(corrupt)), StatusCode.InvalidArgument, "corrupt PNG"),
            (Shot(Step("victim", 1), ByteString.CopyFrom(zeroSize)), StatusCode.InvalidArgument, "0×56 pixels"),
            (Shot(Step("victim", 1), ByteString.CopyFrom("GIF89a-not-supported"u8.ToArray())), StatusCode.InvalidArgument, "neither PNG nor JPEG"),
            (Shot(Step("victim", 1), ByteString.Empty), StatusCode.InvalidArgument, "screenshot is empty"),
            (Shot(Step("victim", 1), ByteString.CopyFrom(new byte[EmbeddedCluster.MaxImageBytes + 1])), StatusCode.InvalidArgument, $"limit (StarKv:Gateway:MaxImageBytes) is {EmbeddedCluster.MaxImageBytes}"),
            (Step("victim", 1, instruction: ""), StatusCode.InvalidArgument, "instruction is empty"),
            (Step("victim", 1, instruction: new string('x', 201)), StatusCode.InvalidArgument, "instruction has 201 characters; the limit (StarKv:Gateway:MaxInstructionChars) is 200"),
            (Step("victim", -1), StatusCode.InvalidArgument, "step_index must be 0 or more"),
            (Step("victim", 5), StatusCode.InvalidArgument, "the next step_index is 1"),
            (Step("nobody", 0), StatusCode.NotFound, "Session 'nobody' does not exist"),
            (Step("bad id!", 0), StatusCode.InvalidArgument, "session_id is invalid"),
        };

        foreach (var (request, code, message) in cases)
        {
            var error = await FailsAsync(() => Client.StepAsync(request, a).ResponseAsync);
            Assert.True(code == error.StatusCode, $"{message}: got {error.StatusCode} '{error.Status.Detail}'");
            Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
        }

        // A payload beyond gRPC's own message limit is refused by the transport, and the server lives on.
        var huge = await FailsAsync(() => Client.StepAsync(Shot(Step("victim", 1), ByteString.CopyFrom(new byte[EmbeddedCluster.MaxImageBytes + (2 << 20)])), a).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, huge.StatusCode);

        var victim = await Client.StepAsync(Step("victim", 1), a);
        var bystander = await Client.StepAsync(Step("bystander", 0), a);
        Assert.Equal(1, victim.StepIndex);
        Assert.Equal(StepResult.ParseOneofCase.Action, bystander.ParseCase);
        Assert.Equal(ActionKind.Click, bystander.Action.Kind);
        Assert.InRange(bystander.Action.Point.X, 0, 83);
        Assert.InRange(bystander.Action.Point.Y, 0, 55);
        Assert.True(bystander.Figures.KvBytes < bystander.Figures.FullKvBytes);
        Assert.False(string.IsNullOrEmpty(bystander.Figures.Silo));
        Assert.Equal(0.25, bystander.Figures.PreprocessMs);
        Assert.True(bystander.Figures.CheckpointMs > 0, "the step's checkpoint time reaches the client");
    }

    [Fact]
    public async Task Retried_steps_replay_and_run_streams_results_in_order()
    {
        var a = EmbeddedCluster.Bearer(EmbeddedCluster.KeyA);
        await CreateAsync(EmbeddedCluster.KeyA, "streamed");
        using var run = Client.Run(a);
        var results = new List<StepResult>();
        foreach (var index in new long[] { 0, 1, 1, 2 })
        {
            await run.RequestStream.WriteAsync(Step("streamed", index, seed: (int)index));
            Assert.True(await run.ResponseStream.MoveNext(CancellationToken.None));
            results.Add(run.ResponseStream.Current);
        }

        await run.RequestStream.CompleteAsync();
        Assert.False(await run.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(new long[] { 0, 1, 1, 2 }, results.Select(r => r.StepIndex));
        Assert.Equal(new[] { false, false, true, false }, results.Select(r => r.Replayed));
        Assert.Equal(results[1].Text, results[2].Text);
        Assert.True(results[3].Figures.SeenTokens > results[1].Figures.SeenTokens);
    }

    [Fact]
    public async Task Quotas_and_missing_capacity_are_resource_exhausted_with_a_reason()
    {
        var tight = EmbeddedCluster.Bearer(EmbeddedCluster.KeyTight);
        await CreateAsync(EmbeddedCluster.KeyTight, "t1");
        await CreateAsync(EmbeddedCluster.KeyTight, "t2");
        var third = await FailsAsync(() => CreateAsync(EmbeddedCluster.KeyTight, "t3"));
        Assert.Equal(StatusCode.ResourceExhausted, third.StatusCode);
        Assert.Contains("MaxSessions = 2", third.Status.Detail, StringComparison.Ordinal);

        // 20,000 KV bytes: one step of a large screenshot passes the quota check, the next is refused.
        var big = ByteString.CopyFrom(TestScreens.Png(1, 560, 560, noisy: false));
        await Client.StepAsync(Shot(Step("t1", 0), big), tight);
        var over = await FailsAsync(() => Client.StepAsync(Shot(Step("t1", 1), big), tight).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, over.StatusCode);
        Assert.Contains("MaxKvBytes = 20000", over.Status.Detail, StringComparison.Ordinal);

        // Closing a session frees its slot.
        await Client.CloseSessionAsync(new CloseSessionRequest { SessionId = "t2" }, tight);
        await CreateAsync(EmbeddedCluster.KeyTight, "t3");

        var noModel = await FailsAsync(() => CreateAsync(EmbeddedCluster.KeyA, "elsewhere", model: "ui-tars-1.5-72b"));
        Assert.Equal(StatusCode.ResourceExhausted, noModel.StatusCode);
        Assert.Contains("no silo serves model 'ui-tars-1.5-72b' (the silos serve: tiny)", noModel.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_calls_need_an_admin_tenant()
    {
        var denied = await FailsAsync(() => Client.ListSilosAsync(new ListSilosRequest(), EmbeddedCluster.Bearer(EmbeddedCluster.KeyA)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        var silos = await Client.ListSilosAsync(new ListSilosRequest(), EmbeddedCluster.Bearer(EmbeddedCluster.KeyAdmin));
        var silo = Assert.Single(silos.Silos);
        Assert.Equal("tiny", silo.Model);
        Assert.Equal("cpu", silo.Device);
        Assert.Equal(1_000_000_000, silo.KvBudgetBytes);

        // With one silo there is nowhere to move a session.
        await CreateAsync(EmbeddedCluster.KeyA, "stays");
        var nowhere = await FailsAsync(() => Client.MigrateSessionAsync(new MigrateSessionRequest { Tenant = "a", SessionId = "stays" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyAdmin)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, nowhere.StatusCode);
        var unknownSilo = await FailsAsync(() => Client.DrainSiloAsync(new DrainSiloRequest { Silo = "S10.0.0.1:1:1" }, EmbeddedCluster.Bearer(EmbeddedCluster.KeyAdmin)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknownSilo.StatusCode);
    }

    [Fact]
    public async Task The_standalone_gateway_serves_the_cluster_as_an_orleans_client()
    {
        var ports = FreePorts.Take(2);
        var settings = new Dictionary<string, string?>(cluster.Settings)
        {
            ["StarKv:Gateway:GrpcPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["StarKv:Health:Port"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await using var gateway = GatewayApp.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")]);
        await gateway.StartAsync();
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{ports[0]}");
        var client = new AgentGateway.AgentGatewayClient(channel);
        var a = EmbeddedCluster.Bearer(EmbeddedCluster.KeyA);

        await client.CreateSessionAsync(new CreateSessionRequest { SessionId = "via-client", Model = "tiny", Budget = new Budget { Tokens = 8 } }, a);
        var result = await client.StepAsync(Step("via-client", 0), a);

        Assert.Equal(8 * 1024, result.Figures.KvBytes);
        var sameSession = await Client.GetSessionAsync(new GetSessionRequest { SessionId = "via-client" }, a);
        Assert.Equal(1, sameSession.StepsTaken);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[1]}") };
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
        await gateway.StopAsync();
    }

    [Fact]
    public async Task Health_and_readiness_answer_over_http()
    {
        using var http = new HttpClient { BaseAddress = cluster.HealthAddress };
        Assert.Equal("ok", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Fifty_sessions_of_five_steps_in_parallel_lose_and_duplicate_nothing()
    {
        var b = EmbeddedCluster.Bearer(EmbeddedCluster.KeyB);
        var before = cluster.Runtime.StepsRun;
        var results = new ConcurrentBag<StepResult>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 50), new ParallelOptions { MaxDegreeOfParallelism = 50 }, async (i, ct) =>
        {
            var id = $"par-{i}";
            await CreateAsync(EmbeddedCluster.KeyB, id);
            using var run = Client.Run(b, cancellationToken: ct);
            for (var step = 0; step < 5; step++)
            {
                await run.RequestStream.WriteAsync(Step(id, step, seed: i), ct);
                Assert.True(await run.ResponseStream.MoveNext(ct));
                results.Add(run.ResponseStream.Current);
            }

            await run.RequestStream.CompleteAsync();
        });

        Assert.Equal(250, results.Count);
        Assert.Equal(250, cluster.Runtime.StepsRun - before);
        foreach (var session in results.GroupBy(r => r.SessionId))
        {
            Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, session.Select(r => r.StepIndex).Order());
            Assert.All(session, r => Assert.False(r.Replayed));
            var info = await Client.GetSessionAsync(new GetSessionRequest { SessionId = session.Key }, b);
            Assert.Equal(5, info.StepsTaken);
        }

        Assert.Equal(50, results.Select(r => r.SessionId).Distinct().Count());
    }
}
