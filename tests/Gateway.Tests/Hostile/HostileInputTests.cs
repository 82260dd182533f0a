using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using StarKv.Gateway.Tenants;
using StarKv.Gateway.Tests.Hardening;
using StarKv.Grains.Tests.Fakes;
using StarKv.Grains.Tests.Support;
using StarKv.Protos.V1;
using StarKv.Silo.Hosting;

namespace StarKv.Gateway.Tests.Hostile;

/// <summary>
/// Runs every case of <c>hostile-inputs.json</c> against the embedded cluster on the built-in tiny model over real gRPC,
/// while three other sessions keep stepping: each case must get its status and message, and the bystanders no error.
/// </summary>
public sealed partial class HostileInputTests : IAsyncLifetime
{
    private const string KeyA = "hostile-key-a";
    private const string KeyB = "hostile-key-b";
    private const string KeyAdmin = "hostile-key-admin";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-hostile-tests", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private GrpcChannel _channel = null!;
    private AgentGateway.AgentGatewayClient _client = null!;

    public async Task InitializeAsync()
    {
        var ports = FreePorts.Take(4);
        string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string?>
        {
            ["StarKv:Cluster:SiloPort"] = Text(ports[0]),
            ["StarKv:Cluster:GatewayPort"] = Text(ports[1]),
            ["StarKv:Cluster:ClusterId"] = "hostile-" + Guid.NewGuid().ToString("N")[..8],
            ["StarKv:Gateway:GrpcPort"] = Text(ports[2]),
            ["StarKv:Health:Port"] = Text(ports[3]),
            ["StarKv:Storage:Path"] = Path.Combine(_root, "state"),
            ["StarKv:Model:Source"] = "tiny",
            ["StarKv:Model:Path"] = Path.Combine(_root, "tiny-model"),
            ["StarKv:Tenants:0:Id"] = "a",
            ["StarKv:Tenants:0:ApiKeySha256"] = TenantDirectory.HashKey(KeyA),
            ["StarKv:Tenants:1:Id"] = "b",
            ["StarKv:Tenants:1:ApiKeySha256"] = TenantDirectory.HashKey(KeyB),
            ["StarKv:Tenants:2:Id"] = "ops",
            ["StarKv:Tenants:2:ApiKeySha256"] = TenantDirectory.HashKey(KeyAdmin),
            ["StarKv:Tenants:2:Admin"] = "true",
        };
        _app = SiloHost.Build(new SiloLaunch { Overrides = settings });
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports[2]}", new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        _client = new AgentGateway.AgentGatewayClient(_channel);

        var a = Bearer(KeyA);
        await _client.CreateSessionAsync(new CreateSessionRequest { SessionId = "victim", Model = "tiny", Options = new Protos.V1.SessionOptions { MaxNewTokens = 2 } }, a);
        await _client.StepAsync(new StepRequest { SessionId = "victim", StepIndex = 0, Screenshot = ByteString.CopyFrom(TestScreens.Png(1, 84, 64)), Instruction = "click" }, a);
        await _client.CreateSessionAsync(new CreateSessionRequest { SessionId = "closed", Model = "tiny" }, a);
        await _client.CloseSessionAsync(new CloseSessionRequest { SessionId = "closed" }, a);
        await _client.CreateSessionAsync(new CreateSessionRequest { SessionId = "owned-by-b", Model = "tiny" }, Bearer(KeyB));
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Every_hostile_input_gets_its_status_while_other_sessions_keep_stepping()
    {
        using var stop = new CancellationTokenSource();
        var bystanders = new ConcurrentBag<string>();
        var steps = new int[3];
        var stepping = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            var b = Bearer(KeyB);
            var id = $"bystander-{i}";
            await _client.CreateSessionAsync(new CreateSessionRequest { SessionId = id, Model = "tiny", Options = new Protos.V1.SessionOptions { MaxNewTokens = 2 } }, b);
            for (var index = 0; !stop.IsCancellationRequested || index < 2; index++)
            {
                try
                {
                    var result = await _client.StepAsync(new StepRequest { SessionId = id, StepIndex = index, Screenshot = ByteString.CopyFrom(TestScreens.Png(index, 84, 64)), Instruction = "open the menu" }, b);
                    Assert.Equal(index, result.StepIndex);
                    Interlocked.Increment(ref steps[i]);
                }
                catch (RpcException error)
                {
                    bystanders.Add($"{id} step {index}: {error.StatusCode} {error.Status.Detail}");
                    return;
                }
            }
        })).ToList();

        var silo = (await _client.ListSilosAsync(new ListSilosRequest(), Bearer(KeyAdmin))).Silos.Single().Silo;
        var failures = new List<string>();
        foreach (var hostile in Cases())
        {
            var name = hostile["name"]!.GetValue<string>();
            var expected = Enum.Parse<StatusCode>(hostile["status"]!.GetValue<string>().Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
            var message = hostile["message"]!.GetValue<string>();
            var error = await CallAsync(hostile, silo);
            if (error is null)
            {
                failures.Add($"{name}: answered OK, expected {expected}");
            }
            else if (error.StatusCode != expected || !error.Status.Detail.Contains(message, StringComparison.Ordinal) || error.Status.Detail.Contains("(Parameter '", StringComparison.Ordinal))
            {
                failures.Add($"{name}: {error.StatusCode} '{error.Status.Detail}', expected {expected} with '{message}'");
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(stepping);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(bystanders.IsEmpty, string.Join("\n", bystanders));
        Assert.All(steps, count => Assert.True(count >= 2, $"a bystander took only {count} steps"));

        // The victim itself is intact: its next step runs.
        var next = await _client.StepAsync(new StepRequest { SessionId = "victim", StepIndex = 1, Screenshot = ByteString.CopyFrom(TestScreens.Png(2, 84, 64)), Instruction = "click" }, Bearer(KeyA));
        Assert.Equal(1, next.StepIndex);
    }

    private static IEnumerable<JsonObject> Cases()
    {
        var path = Path.Combine(Repository.Root, "tests", "Gateway.Tests", "Hostile", "hostile-inputs.json");
        return JsonNode.Parse(File.ReadAllText(path))!["cases"]!.AsArray().Select(c => c!.AsObject());
    }

    private async Task<RpcException?> CallAsync(JsonObject hostile, string silo)
    {
        var call = hostile["call"]!.GetValue<string>();
        var headers = hostile["key"]!.GetValue<string>() switch
        {
            "a" => Bearer(KeyA),
            "b" => Bearer(KeyB),
            "admin" => Bearer(KeyAdmin),
            "wrong" => Bearer("not-a-key"),
            _ => [],
        };
        if (hostile["raw"] is { } raw)
        {
            return await RawCalls.FailsAsync(_channel, call, Convert.FromHexString(raw.GetValue<string>()), headers);
        }

        var json = Expand(hostile["request"]!.ToJsonString(), silo);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        try
        {
            switch (call)
            {
                case "CreateSession":
                    await _client.CreateSessionAsync(JsonParser.Default.Parse<CreateSessionRequest>(json), headers, deadline);
                    break;
                case "Step":
                    await _client.StepAsync(JsonParser.Default.Parse<StepRequest>(json), headers, deadline);
                    break;
                case "GetSession":
                    await _client.GetSessionAsync(JsonParser.Default.Parse<GetSessionRequest>(json), headers, deadline);
                    break;
                case "ListSilos":
                    await _client.ListSilosAsync(JsonParser.Default.Parse<ListSilosRequest>(json), headers, deadline);
                    break;
                case "DrainSilo":
                    await _client.DrainSiloAsync(JsonParser.Default.Parse<DrainSiloRequest>(json), headers, deadline);
                    break;
                case "UndrainSilo":
                    await _client.UndrainSiloAsync(JsonParser.Default.Parse<UndrainSiloRequest>(json), headers, deadline);
                    break;
                default:
                    throw new InvalidOperationException($"hostile-inputs.json names an unknown call '{call}'.");
            }

            return null;
        }
        catch (RpcException error)
        {
            return error;
        }
    }

    /// <summary>Expands the macros of string values: $repeat(TEXT,N), $png(W,H), $png-header(W,H), $only-silo.</summary>
    private static string Expand(string json, string silo) => Macro().Replace(json, match => match.Groups["name"].Value switch
    {
        "repeat" => JsonEncodedText.Encode(string.Concat(Enumerable.Repeat(match.Groups["a"].Value, int.Parse(match.Groups["b"].Value, CultureInfo.InvariantCulture)))).ToString(),
        "png" => Convert.ToBase64String(TestScreens.Png(7, int.Parse(match.Groups["a"].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups["b"].Value, CultureInfo.InvariantCulture))),
        "png-header" => Convert.ToBase64String(HeaderClaiming(int.Parse(match.Groups["a"].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups["b"].Value, CultureInfo.InvariantCulture))),
        _ => silo,
    });

    /// <summary>A valid 84 × 64 PNG whose IHDR claims <paramref name="width"/> × <paramref name="height"/>.</summary>
    private static byte[] HeaderClaiming(int width, int height)
    {
        var png = TestScreens.Png(3, 84, 64);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        return png;
    }

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    [GeneratedRegex(@"\$(?<name>repeat|png-header|png|only-silo)(\((?<a>[^,()]*),(?<b>\d+)\))?")]
    private static partial Regex Macro();
}
