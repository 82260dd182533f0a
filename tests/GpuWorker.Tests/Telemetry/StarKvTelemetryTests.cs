using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StarKv.Telemetry;

namespace StarKv.GpuWorker.Tests.Telemetry;

/// <summary>
/// Records a known sequence through <see cref="StarKvTelemetry"/> and reads it back through the OpenTelemetry
/// SDK's in-memory exporter. Tag values are unique per test, since the meter and source are process-wide.
/// </summary>
public sealed class StarKvTelemetryTests
{
    private readonly string _silo = "silo-" + Guid.NewGuid().ToString("N");
    private readonly string _otherSilo = "silo-" + Guid.NewGuid().ToString("N");
    private readonly string _tenant = "tenant-" + Guid.NewGuid().ToString("N");

    [Fact]
    public void Metrics_export_the_recorded_values_per_silo()
    {
        var metrics = new List<Metric>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(StarKvTelemetry.Name).AddInMemoryExporter(metrics).Build();
        try
        {
            StarKvTelemetry.SessionActivated(_silo);
            StarKvTelemetry.SessionActivated(_silo);
            StarKvTelemetry.SessionActivated(_otherSilo);
            StarKvTelemetry.SessionDeactivated(_silo);

            StarKvTelemetry.SetKvBytes(_silo, 1_000);
            StarKvTelemetry.SetKvBytes(_silo, 4_096);
            StarKvTelemetry.SetKvBytes(_otherSilo, 77);

            StarKvTelemetry.RecordCompression(_silo, kept: 25, seen: 100);
            StarKvTelemetry.RecordStepFigures(_silo, [10, 20, 30], seenTokens: 200); // mean 20 / 200 = 0.1

            StarKvTelemetry.RecordStepLatency(_tenant, TimeSpan.FromMilliseconds(12.5));
            StarKvTelemetry.RecordStepLatency(_tenant, TimeSpan.FromMilliseconds(300));

            StarKvTelemetry.RecordMigration(_silo, MigrationReasons.Drain);
            StarKvTelemetry.RecordMigration(_silo, MigrationReasons.Drain);
            StarKvTelemetry.RecordMigration(_silo, MigrationReasons.MemoryPressure);

            StarKvTelemetry.RecordCheckpoint(_silo, CheckpointOperation.Save, 3 << 20, TimeSpan.FromMilliseconds(40));
            StarKvTelemetry.RecordCheckpoint(_silo, CheckpointOperation.Save, 1 << 20, TimeSpan.FromMilliseconds(20));
            StarKvTelemetry.RecordCheckpoint(_silo, CheckpointOperation.Restore, 5 << 20, TimeSpan.FromMilliseconds(70));

            // One export, read before the provider's final export on disposal adds a second copy.
            Assert.True(provider.ForceFlush());
        }
        finally
        {
            StarKvTelemetry.ForgetSilo(_silo);
            StarKvTelemetry.ForgetSilo(_otherSilo);
        }

        Assert.Equal(1, Point(metrics, StarKvInstruments.ActiveSessions, ("silo", _silo)).GetSumLong());
        Assert.Equal(1, Point(metrics, StarKvInstruments.ActiveSessions, ("silo", _otherSilo)).GetSumLong());

        Assert.Equal(4_096, Point(metrics, StarKvInstruments.KvBytes, ("silo", _silo)).GetGaugeLastValueLong());
        Assert.Equal(77, Point(metrics, StarKvInstruments.KvBytes, ("silo", _otherSilo)).GetGaugeLastValueLong());

        var ratio = Point(metrics, StarKvInstruments.CompressionRatio, ("silo", _silo));
        Assert.Equal(2, ratio.GetHistogramCount());
        Assert.Equal(0.25 + 0.1, ratio.GetHistogramSum(), 12);

        var latency = Point(metrics, StarKvInstruments.StepLatency, (StarKvAttributes.Tenant, _tenant));
        Assert.Equal(2, latency.GetHistogramCount());
        Assert.Equal(312.5, latency.GetHistogramSum(), 9);
        Assert.Equal("ms", Single(metrics, StarKvInstruments.StepLatency).Unit);

        Assert.Equal(2, Point(metrics, StarKvInstruments.Migrations, ("silo", _silo), ("reason", "drain")).GetSumLong());
        Assert.Equal(1, Point(metrics, StarKvInstruments.Migrations, ("silo", _silo), ("reason", "memory-pressure")).GetSumLong());

        var saved = Point(metrics, StarKvInstruments.CheckpointSize, ("silo", _silo), ("operation", "save"));
        Assert.Equal(2, saved.GetHistogramCount());
        Assert.Equal((3 << 20) + (1 << 20), saved.GetHistogramSum());
        Assert.Equal(5 << 20, Point(metrics, StarKvInstruments.CheckpointSize, ("silo", _silo), ("operation", "restore")).GetHistogramSum());
        Assert.Equal(60, Point(metrics, StarKvInstruments.CheckpointDuration, ("silo", _silo), ("operation", "save")).GetHistogramSum(), 9);
    }

    [Fact]
    public void A_step_exports_nested_spans_with_its_identifiers()
    {
        var spans = new List<Activity>();
        var session = "session-" + Guid.NewGuid().ToString("N");
        var trace = new StepTrace(_tenant, session, step: 3);
        using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(StarKvTelemetry.Name).AddInMemoryExporter(spans).Build())
        {
            using (StarKvTelemetry.StartStep(trace))
            using (StarKvTelemetry.StartGrainStep(trace))
            {
                using (StarKvTelemetry.StartVision(trace))
                {
                }

                using (StarKvTelemetry.StartPrefill(trace))
                {
                }

                using (StarKvTelemetry.StartCompress(trace))
                {
                }

                using (StarKvTelemetry.StartDecode(trace))
                {
                }
            }

            provider.ForceFlush();
        }

        var mine = spans.Where(s => (string?)s.GetTagItem(StarKvAttributes.Session) == session).ToList();
        Assert.Equal(["vision", "prefill", "compress", "decode", "grain.step", "step"], mine.Select(s => s.DisplayName));

        var step = mine.Single(s => s.DisplayName == StarKvSpanNames.Step);
        var grain = mine.Single(s => s.DisplayName == StarKvSpanNames.GrainStep);
        Assert.Equal(ActivityKind.Server, step.Kind);
        Assert.Equal(step.SpanId, grain.ParentSpanId);
        Assert.All(mine.Where(s => s != step && s != grain), s => Assert.Equal(grain.SpanId, s.ParentSpanId));
        Assert.All(mine, s =>
        {
            Assert.Equal(step.TraceId, s.TraceId);
            Assert.Equal(_tenant, s.GetTagItem(StarKvAttributes.Tenant));
            Assert.Equal(3L, s.GetTagItem(StarKvAttributes.Step));
            Assert.Equal(3, s.TagObjects.Count());
        });
    }

    [Fact]
    public void Spans_are_not_created_without_a_listener_and_bad_figures_are_refused()
    {
        Assert.Null(StarKvTelemetry.StartPrefill(new StepTrace(_tenant, "nobody-listens-" + Guid.NewGuid().ToString("N"), 0)));

        var kept = Assert.Throws<ArgumentOutOfRangeException>(() => StarKvTelemetry.RecordCompression(_silo, kept: 11, seen: 10));
        Assert.Equal("kept", kept.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => StarKvTelemetry.RecordCompression(_silo, kept: 1, seen: 0));
        Assert.Throws<ArgumentException>(() => StarKvTelemetry.SessionActivated(""));
        Assert.Throws<ArgumentException>(() => StarKvTelemetry.StartStep(default));
    }

    private static Metric Single(List<Metric> metrics, string name) => Assert.Single(metrics, m => m.Name == name);

    private static MetricPoint Point(List<Metric> metrics, string name, params (string Key, string Value)[] tags)
    {
        var found = new List<MetricPoint>();
        foreach (ref readonly var point in Single(metrics, name).GetMetricPoints())
        {
            var actual = new Dictionary<string, object?>();
            foreach (var tag in point.Tags)
            {
                actual[tag.Key] = tag.Value;
            }

            if (actual.Count == tags.Length && tags.All(t => actual.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
            {
                found.Add(point);
            }
        }

        return Assert.Single(found);
    }
}
