using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StarKv.Batching.Bench;
using StarKv.Gateway.Tenants;
using StarKv.GpuWorker.SyntheticScreens;
using StarKv.Protos.V1;
using StarKv.Silo.Hosting;

// Sessions stepping at once through the gRPC gateway of an embedded one-silo cluster (the README's first command's
// cluster, on the batching benchmark's random-weight model), continuous batching against the serial mode:
//   dotnet run -c Release --project bench/Gateway.Bench -- [--sessions 32] [--steps 2] [--new-tokens 24] [--budget 0.2]
//       [--batch-sizes 1,32] [--out bench/results]
var sessions = 32;
var steps = 2;
var newTokens = 24;
var budget = 0.2;
int[] batchSizes = [1, 32];
var outFolder = Path.Combine("bench", "results");
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    switch (args[i])
    {
        case "--sessions": sessions = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--steps": steps = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--new-tokens": newTokens = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--budget": budget = double.Parse(value, CultureInfo.InvariantCulture); break;
        case "--batch-sizes": batchSizes = value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray(); break;
        case "--out": outFolder = value; break;
        default: throw new ArgumentException($"Unknown option {args[i]}.");
    }
}

var scratch = Path.Combine(Path.GetTempPath(), "starkv-gateway-bench-" + Guid.NewGuid().ToString("N"));
try
{
    var model = BenchModel.Write(Path.Combine(scratch, "model"));
    var screens = Enumerable.Range(0, steps + 1).Select(s => SyntheticScreenRenderer.RenderPng(7, 224, 224, s)).ToArray();
    var rows = new List<string>();
    foreach (var batchSize in batchSizes)
    {
        var row = await MeasureAsync(model, Path.Combine(scratch, "state-" + batchSize.ToString(CultureInfo.InvariantCulture)), batchSize, sessions, steps, newTokens, budget, screens);
        Console.WriteLine(row);
        rows.Add(row);
    }

    Directory.CreateDirectory(outFolder);
    var report = new StringBuilder()
        .AppendLine("# Continuous batching through the gateway")
        .AppendLine()
        .AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"One embedded silo with its gRPC gateway on loopback (`SiloHost`, as `dotnet run --project src/Silo` starts it), the batching benchmark's random-weight Qwen2.5-VL ({BenchModel.TextParameters() / 1e6:F0}M text parameters, fp32, CPU). {sessions} gRPC clients each create a session (STaR-KV at {budget:P0}, {newTokens} new tokens a step, 224 × 224 screenshots) and send its steps one after another; the first step (system prompt and task) is timed apart from the {steps} that follow. `StarKv:Model:MaxBatchSize` 1 is the serial mode. Machine: {Environment.ProcessorCount} CPUs."))
        .AppendLine()
        .AppendLine("| max batch | sessions | first steps (s) | later steps | wall (s) | steps/s | p50 step (ms) | p99 step (ms) | errors |")
        .AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var row in rows)
    {
        report.AppendLine(row);
    }

    File.WriteAllText(Path.Combine(outFolder, "gateway-batching.md"), report.ToString());
    Console.WriteLine($"Wrote gateway-batching.md to {outFolder}.");
    return 0;
}
finally
{
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

static async Task<string> MeasureAsync(string model, string state, int batchSize, int sessions, int steps, int newTokens, double budget, byte[][] screens)
{
    const string Key = "gateway-bench-key";
    var ports = Enumerable.Range(0, 4).Select(_ => FreePort()).ToArray();
    string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
    var settings = new Dictionary<string, string?>
    {
        ["StarKv:Cluster:SiloPort"] = Text(ports[0]),
        ["StarKv:Cluster:GatewayPort"] = Text(ports[1]),
        ["StarKv:Cluster:ClusterId"] = "gateway-bench-" + Guid.NewGuid().ToString("N")[..8],
        ["StarKv:Gateway:GrpcPort"] = Text(ports[2]),
        ["StarKv:Health:Port"] = Text(ports[3]),
        ["StarKv:Storage:Path"] = state,
        ["StarKv:Model:Source"] = "folder",
        ["StarKv:Model:Path"] = model,
        ["StarKv:Model:Id"] = "bench",
        ["StarKv:Model:MaxBatchSize"] = Text(batchSize),
        ["StarKv:Capacity:KvBudgetBytes"] = Text(16L << 30),
        ["StarKv:Tenants:0:Id"] = "bench",
        ["StarKv:Tenants:0:ApiKeySha256"] = TenantDirectory.HashKey(Key),
        ["StarKv:Tenants:0:MaxSessions"] = Text(sessions + 1),
        ["StarKv:Tenants:0:MaxKvBytes"] = Text(16L << 30),
    };
    await using var app = SiloHost.Build(new SiloLaunch { Overrides = settings });
    await app.StartAsync();
    using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports[2]}", new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
    var client = new AgentGateway.AgentGatewayClient(channel);
    var auth = new Metadata { { "authorization", "Bearer " + Key } };
    var errors = 0;
    var ids = Enumerable.Range(0, sessions).Select(i => $"bench-{batchSize}-{i}").ToArray();
    foreach (var id in ids)
    {
        await client.CreateSessionAsync(
            new CreateSessionRequest
            {
                SessionId = id,
                Model = "bench",
                Method = budget < 1 ? "starkv" : "full",
                Budget = new Budget { Ratio = budget },
                Options = new SessionOptions { MaxNewTokens = newTokens, Task = "Book a table for two at eight." },
            },
            auth);
    }

    async Task<double> StepAsync(string id, int index)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await client.StepAsync(
                new StepRequest { SessionId = id, StepIndex = index, Screenshot = ByteString.CopyFrom(screens[index]), Instruction = $"Step {index}: fill in the next field." },
                auth,
                deadline: DateTime.UtcNow.AddMinutes(10));
        }
        catch (RpcException)
        {
            Interlocked.Increment(ref errors);
        }

        return watch.Elapsed.TotalMilliseconds;
    }

    var first = Stopwatch.StartNew();
    await Task.WhenAll(ids.Select(id => StepAsync(id, 0)));
    var firstSeconds = first.Elapsed.TotalSeconds;

    var wall = Stopwatch.StartNew();
    var latencies = await Task.WhenAll(ids.Select(async id =>
    {
        var times = new List<double>();
        for (var s = 1; s <= steps; s++)
        {
            times.Add(await StepAsync(id, s));
        }

        return times;
    }));
    var seconds = wall.Elapsed.TotalSeconds;
    var sorted = latencies.SelectMany(t => t).Order().ToArray();
    await app.StopAsync();
    return string.Create(CultureInfo.InvariantCulture,
        $"| {batchSize} | {sessions} | {firstSeconds:F1} | {sorted.Length} | {seconds:F1} | {sorted.Length / seconds:F2} | {Percentile(sorted, 0.5):F0} | {Percentile(sorted, 0.99):F0} | {errors} |");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
