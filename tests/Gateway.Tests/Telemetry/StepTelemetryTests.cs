using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StarKv.Gateway.Tenants;
using StarKv.Telemetry;
using StarKv.Grains.Tests.Fakes;
using StarKv.Protos.V1;
using StarKv.Silo.Hosting;

namespace StarKv.Gateway.Tests.Telemetry;

/// <summary>
/// The embedded silo with the real built-in tiny model: a known sequence of steps through the gateway, then the spans and
/// metrics read back through the in-memory exporter. Other tests in this assembly run clusters of their own at the same
/// time, so everything here is picked out by this test's tenant and its silo's address.
/// </summary>
public sealed class StepTelemetryTests : IAsyncLifetime
{
    private const string Tenant = "telemetry-probe";
    private const string Key = "key-of-the-telemetry-probe";
    private const string Session = "traced";
    private const int Steps = 3;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-telemetry-tests", Guid.NewGuid().ToString("N"));
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private TracerProvider? _tracer;
    private MeterProvider? _meter;
    private WebApplication? _app;
    private GrpcChannel? _channel;
    private AgentGateway.AgentGatewayClient _client = null!;

    public async Task InitializeAsync()
    {
        _tracer = Sdk.CreateTracerProviderBuilder()
            .AddSource(StarKvTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.AspNetCore")
            .AddInMemoryExporter(_spans)
            .Build();
        _meter = Sdk.CreateMeterProviderBuilder().AddMeter(StarKvTelemetry.Name).AddInMemoryExporter(_metrics).Build();

        var ports = Enumerable.Range(0, 4).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        ports.ForEach(l => l.Start());
        var numbers = ports.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)).ToArray();
        ports.ForEach(l => l.Stop());
        _app = SiloHost.Build(new SiloLaunch
        {
            Overrides = new Dictionary<string, string?>
            {
                ["StarKv:Cluster:SiloPort"] = numbers[0],
                ["StarKv:Cluster:GatewayPort"] = numbers[1],
                ["StarKv:Cluster:ClusterId"] = "telemetry-tests-" + Guid.NewGuid().ToString("N")[..8],
                ["StarKv:Gateway:GrpcPort"] = numbers[2],
                ["StarKv:Health:Port"] = numbers[3],
                ["StarKv:Storage:Path"] = Path.Combine(_root, "data"),
                ["StarKv:Model:Source"] = "tiny",
                ["StarKv:Model:Path"] = Path.Combine(_root, "tiny-model"),
                ["StarKv:Capacity:KvBudgetBytes"] = "1000000000",
                ["StarKv:Tenants:0:Id"] = Tenant,
                ["StarKv:Tenants:0:ApiKeySha256"] = TenantDirectory.HashKey(Key),
                ["StarKv:Tenants:0:MaxSessions"] = "4",
                ["StarKv:Tenants:0:MaxKvBytes"] = long.MaxValue.ToString(CultureInfo.InvariantCulture),
            },
        });
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{numbers[2]}"));
        _client = new AgentGateway.AgentGatewayClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _tracer?.Dispose();
        _meter?.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_step_is_one_trace_from_the_gateway_to_the_model_phases_and_the_metrics_match_its_figures()
    {
        var bearer = EmbeddedCluster.Bearer(Key);
        await _client.CreateSessionAsync(new CreateSessionRequest
        {
            SessionId = Session,
            Model = "tiny",
            Method = "starkv",
            Budget = new Budget { Ratio = 0.5 },
            Options = new Protos.V1.SessionOptions { MaxNewTokens = 4 },
        }, bearer);
        var screenshot = TestScreens.Png(7, 56, 56);
        var results = new List<StepResult>();
        for (var i = 0; i < Steps; i++)
        {
            results.Add(await _client.StepAsync(new StepRequest { SessionId = Session, StepIndex = i, Screenshot = ByteString.CopyFrom(screenshot), Instruction = "Open the settings." }, bearer));
        }

        // A client retry of the last step: answered from the stored result, no model work.
        var replay = await _client.StepAsync(new StepRequest { SessionId = Session, StepIndex = Steps - 1, Screenshot = ByteString.CopyFrom(screenshot), Instruction = "Open the settings." }, bearer);
        Assert.True(replay.Replayed);
        var silo = results[^1].Figures.Silo;
        var layers = results[0].Figures.KeptPerLayer.Count;
        Assert.True(layers > 0);

        _tracer!.ForceFlush();
        var spans = _spans.ToList();
        var mine = spans.Where(s => Equals(s.GetTagItem(StarKvAttributes.Tenant), Tenant)).ToList();
        var byId = spans.ToDictionary(s => s.SpanId);

        var stepSpans = mine.Where(s => s.OperationName == StarKvSpanNames.Step).ToList();
        Assert.Equal(Steps + 1, stepSpans.Count);
        Assert.All(stepSpans, s =>
        {
            Assert.Equal(ActivityKind.Server, s.Kind);
            Assert.Equal(Session, s.GetTagItem(StarKvAttributes.Session));
            Assert.Equal(screenshot.Length, s.GetTagItem(StarKvAttributes.ScreenshotBytes));
        });
        Assert.Equal([0L, 1L, 2L, 2L], stepSpans.Select(s => (long)s.GetTagItem(StarKvAttributes.Step)!).Order());

        var grainSpans = mine.Where(s => s.OperationName == StarKvSpanNames.GrainStep).ToList();
        Assert.Equal(Steps + 1, grainSpans.Count);
        foreach (var grain in grainSpans)
        {
            // Across the Orleans call: the grain's span descends from the gateway span of the same step, in its trace.
            var gateway = Ancestors(grain, byId).FirstOrDefault(a => a.OperationName == StarKvSpanNames.Step);
            Assert.NotNull(gateway);
            Assert.Equal(gateway.TraceId, grain.TraceId);
            Assert.Equal(gateway.GetTagItem(StarKvAttributes.Step), grain.GetTagItem(StarKvAttributes.Step));
            Assert.Equal(silo, grain.GetTagItem(StarKvAttributes.Silo));

            var children = mine.Where(s => s.ParentSpanId == grain.SpanId).ToList();
            if (Equals(grain.GetTagItem(StarKvAttributes.Replayed), true))
            {
                Assert.Empty(children);
                continue;
            }

            Assert.Equal(
                [StarKvSpanNames.Checkpoint, StarKvSpanNames.Decode, StarKvSpanNames.Prefill, StarKvSpanNames.Preprocess, StarKvSpanNames.Vision],
                children.Select(c => c.OperationName).Order(StringComparer.Ordinal));
            var preprocess = children.Single(c => c.OperationName == StarKvSpanNames.Preprocess);
            var vision = children.Single(c => c.OperationName == StarKvSpanNames.Vision);
            Assert.True(preprocess.StartTimeUtc + preprocess.Duration <= vision.StartTimeUtc, "the screenshot is preprocessed before the vision encoder runs");
            Assert.All(children, c =>
            {
                Assert.Equal(Session, c.GetTagItem(StarKvAttributes.Session));
                Assert.Equal(grain.GetTagItem(StarKvAttributes.Step), c.GetTagItem(StarKvAttributes.Step));
            });
            var prefill = children.Single(c => c.OperationName == StarKvSpanNames.Prefill);
            var step = (long)grain.GetTagItem(StarKvAttributes.Step)!;
            Assert.Equal(results[(int)step].Figures.TokensPrefilled, prefill.GetTagItem(StarKvAttributes.Tokens));
            var compress = mine.Where(s => s.ParentSpanId == prefill.SpanId).ToList();
            Assert.All(compress, c => Assert.Equal(StarKvSpanNames.Compress, c.OperationName));
            Assert.Equal(Enumerable.Range(0, layers), compress.Select(c => (int)c.GetTagItem(StarKvAttributes.Layer)!).Order());
        }

        // Identifiers and counts only: no tag carries bytes or long text.
        Assert.All(mine.SelectMany(s => s.TagObjects), tag =>
        {
            Assert.IsNotType<byte[]>(tag.Value);
            Assert.True(tag.Value is not string text || text.Length < 200, $"tag {tag.Key} is long text");
        });

        _metrics.Clear();
        _meter!.ForceFlush();
        var computed = results;
        Assert.Equal(1L, Sum(Points(StarKvInstruments.ActiveSessions, StarKvAttributes.Silo, silo), p => p.GetSumLong()));
        Assert.Equal(computed[^1].Figures.KvBytes, Points(StarKvInstruments.KvBytes, StarKvAttributes.Silo, silo).Single().GetGaugeLastValueLong());

        var ratio = Points(StarKvInstruments.CompressionRatio, StarKvAttributes.Silo, silo).Single();
        Assert.Equal(Steps, ratio.GetHistogramCount());
        var expectedRatio = computed.Sum(r => r.Figures.KeptPerLayer.Average(k => (double)k) / r.Figures.SeenTokens);
        Assert.Equal(expectedRatio, ratio.GetHistogramSum(), 9);

        Assert.Equal(Steps + 1, Points(StarKvInstruments.StepLatency, StarKvAttributes.Tenant, Tenant).Single().GetHistogramCount());
        var saves = Points(StarKvInstruments.CheckpointSize, StarKvAttributes.Silo, silo).Where(p => Tag(p, StarKvAttributes.CheckpointOperation) == "save").ToList();
        Assert.Equal(Steps, saves.Sum(p => p.GetHistogramCount()));
        Assert.True(saves.Sum(p => p.GetHistogramSum()) > computed[^1].Figures.KvBytes / 2, "a checkpoint holds at least the compressed cache");
        Assert.Equal(Steps, Points(StarKvInstruments.CheckpointDuration, StarKvAttributes.Silo, silo).Where(p => Tag(p, StarKvAttributes.CheckpointOperation) == "save").Sum(p => p.GetHistogramCount()));

        // Closing the session takes its KV bytes off the silo at once, and the session off the active count once the
        // grain has deactivated (right after the close).
        await _client.CloseSessionAsync(new CloseSessionRequest { SessionId = Session }, bearer);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long active;
        do
        {
            await Task.Delay(50);
            _metrics.Clear();
            _meter!.ForceFlush();
            active = Sum(Points(StarKvInstruments.ActiveSessions, StarKvAttributes.Silo, silo), p => p.GetSumLong());
        }
        while (active != 0 && DateTime.UtcNow < deadline);
        Assert.Equal(0L, active);
        Assert.Equal(0L, Points(StarKvInstruments.KvBytes, StarKvAttributes.Silo, silo).Single().GetGaugeLastValueLong());
    }

    private static IEnumerable<Activity> Ancestors(Activity span, Dictionary<ActivitySpanId, Activity> byId)
    {
        for (var parent = span.ParentSpanId; byId.TryGetValue(parent, out var next); parent = next.ParentSpanId)
        {
            yield return next;
        }
    }

    private List<MetricPoint> Points(string instrument, string tag, string value)
    {
        var points = new List<MetricPoint>();
        foreach (var metric in _metrics.Where(m => m.Name == instrument))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Tag(point, tag) == value)
                {
                    points.Add(point);
                }
            }
        }

        return points;
    }

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    private static long Sum(List<MetricPoint> points, Func<MetricPoint, long> value) => points.Sum(value);
}
