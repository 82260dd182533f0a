using Grpc.Core;
using StarKv.Protos.V1;

namespace StarKv.Gateway.Tests.Hardening;

/// <summary>Every bad request gets a proper status with a message for clients: never UNKNOWN, never .NET's decorations.</summary>
public sealed class StatusTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>
{
    private static Metadata A => EmbeddedCluster.Bearer(EmbeddedCluster.KeyA);

    public static TheoryData<string, string, byte[], string> UndecodableRequests => new()
    {
        // field 1 (session_id) holding the bytes C3 28: not UTF-8.
        { "invalid UTF-8 in session_id", "GetSession", [0x0A, 0x02, 0xC3, 0x28], "not a valid GetSessionRequest" },
        { "invalid UTF-8 in model", "CreateSession", [0x0A, 0x01, 0x78, 0x12, 0x02, 0xFF, 0xFE], "not a valid CreateSessionRequest" },
        { "a length past the end", "Step", [0x0A, 0x10, 0x41], "not a valid StepRequest" },
        { "an unfinished varint", "Step", [0x10, 0xFF, 0xFF], "not a valid StepRequest" },
        { "an end-group tag with no group", "CloseSession", [0x0C], "not a valid CloseSessionRequest" },
    };

    [Theory]
    [MemberData(nameof(UndecodableRequests))]
    public async Task Undecodable_request_bytes_are_invalid_argument(string what, string method, byte[] bytes, string message)
    {
        var error = await RawCalls.FailsAsync(cluster.Channel, method, bytes, A);

        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}: {error.StatusCode} '{error.Status.Detail}'");
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_undefined_mode_is_refused_naming_the_defined_ones()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(new CreateSessionRequest
        {
            SessionId = "mode-7",
            Model = "tiny",
            Options = new Protos.V1.SessionOptions { Mode = (Protos.V1.SessionMode)7 },
        }, A).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("options.mode 7 is not a SessionMode of the contract (0 = SESSION_MODE_RETAINED_CACHE, 1 = SESSION_MODE_REPREFILL_HISTORY).", error.Status.Detail);
        var missing = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.GetSessionAsync(new GetSessionRequest { SessionId = "mode-7" }, A).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task CreateSession_again_answers_the_open_session_and_refuses_other_options_or_a_closed_id_as_the_proto_says()
    {
        var request = new CreateSessionRequest { SessionId = "twice", Model = "tiny", Method = "snapkv", Budget = new Budget { Ratio = 0.5 } };
        var first = await cluster.Client.CreateSessionAsync(request, A);
        var again = await cluster.Client.CreateSessionAsync(request, A);
        Assert.Equal(first, again);

        var other = request.Clone();
        other.Method = "starkv";
        var conflict = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(other, A).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, conflict.StatusCode);
        Assert.Contains("already exists with other options", conflict.Status.Detail, StringComparison.Ordinal);

        await cluster.Client.CloseSessionAsync(new CloseSessionRequest { SessionId = "twice" }, A);
        var closed = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(request, A).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, closed.StatusCode);
        Assert.Contains("is closed; a session id is used once", closed.Status.Detail, StringComparison.Ordinal);

        var proto = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "protos", "starkv.proto"));
        Assert.Contains("the same CreateSession again answers the open session", proto, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_carry_no_parameter_names()
    {
        var badMethod = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.CreateSessionAsync(
            new CreateSessionRequest { SessionId = "m1", Model = "tiny", Method = "snapvk" }, A).ResponseAsync);
        var badId = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.GetSessionAsync(new GetSessionRequest { SessionId = "a b" }, A).ResponseAsync);
        var longId = await Assert.ThrowsAsync<RpcException>(() => cluster.Client.GetSessionAsync(new GetSessionRequest { SessionId = new string('x', 129) }, A).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, badMethod.StatusCode);
        Assert.StartsWith("Unknown compression method 'snapvk'. Known methods: ", badMethod.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("session_id is invalid: The session id 'a b' may hold only ASCII letters, digits, '-', '_' and '.'; it holds ' '.", badId.Status.Detail);
        Assert.Equal("session_id is invalid: The session id must have 1 to 128 characters; it has 129.", longId.Status.Detail);
        Assert.All(new[] { badMethod, badId, longId }, e => Assert.DoesNotContain("(Parameter", e.Status.Detail, StringComparison.Ordinal));
    }
}
