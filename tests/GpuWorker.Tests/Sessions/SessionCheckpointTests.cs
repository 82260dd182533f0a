using System.Text.Json.Nodes;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

[Collection(TinyRuntimeGroup.Name)]
public sealed class SessionCheckpointTests(TinyRuntimeFixture fixture)
{
    private readonly Qwen25VlRuntime _runtime = fixture.Runtime;

    [Theory]
    [InlineData(SessionMode.RetainedCache)]
    [InlineData(SessionMode.ReprefillHistory)]
    public void Save_restore_and_step_equals_the_session_that_was_never_saved(SessionMode mode)
    {
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.2, Mode = mode, HistoryScreenshots = 2, Task = "Find the search box.", MaxNewTokens = 5 };
        using var original = (AgentSession)_runtime.CreateSession(options);
        original.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);
        original.Step(TinyRuntimeFixture.Screen(1, 280, 280), "Scroll down.", CancellationToken.None);
        var checkpoint = original.Save();

        using var restored = (AgentSession)_runtime.RestoreSession(checkpoint);
        Assert.Equal(original.StepsTaken, restored.StepsTaken);
        Assert.Equal(original.KvBytes, restored.KvBytes);
        Assert.Equal(original.NextPosition, restored.NextPosition);
        Assert.Equal(options, restored.Options);

        // Across a fresh runtime instance loaded from the same folder.
        using var otherRuntime = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU);
        using var migrated = (AgentSession)otherRuntime.RestoreSession(checkpoint);

        var screen = TinyRuntimeFixture.Screen(2, 300, 220);
        var expected = original.Step(screen, "Type hello.", CancellationToken.None);
        foreach (var session in new[] { restored, migrated })
        {
            var actual = session.Step(screen, "Type hello.", CancellationToken.None);
            Assert.Equal(expected.Text, actual.Text);
            Assert.Equal(original.LastPromptLogits!, session.LastPromptLogits!);
            Assert.Equal(expected.Figures.KeptPerLayer, actual.Figures.KeptPerLayer);
            Assert.Equal(expected.Figures.SeenTokens, actual.Figures.SeenTokens);
            Assert.Equal(expected.Figures.KvBytes, actual.Figures.KvBytes);
        }
    }

    [Theory]
    [InlineData("starkv", 0.2, SessionMode.RetainedCache)]
    [InlineData("snapkv", 0.3, SessionMode.RetainedCache)]
    [InlineData("h2o", 0.3, SessionMode.RetainedCache)]
    [InlineData("full", 1.0, SessionMode.RetainedCache)]
    [InlineData("snapkv", 0.5, SessionMode.ReprefillHistory)]
    public void A_session_restored_from_its_first_checkpoint_and_the_deltas_after_it_equals_the_live_one(string method, double budget, SessionMode mode)
    {
        var options = new SessionOptions { Method = method, BudgetRatio = budget, Mode = mode, HistoryScreenshots = 2, Task = "Find the search box.", MaxNewTokens = 5 };
        using var live = (AgentSession)_runtime.CreateSession(options);
        var chain = new List<byte[]>();
        for (var step = 0; step < 4; step++)
        {
            live.Step(TinyRuntimeFixture.Screen(step, 280 + (20 * step), 260), step == 2 ? "Scroll down." : "", CancellationToken.None);
            using var capture = live.CaptureCheckpoint(full: false);
            Assert.Equal(step > 0, capture.IsDelta);
            Assert.Equal(step + 1, capture.StepsTaken);
            chain.Add(Written(capture));
        }

        using (var whole = live.CaptureCheckpoint(full: true))
        {
            var fullLength = Written(whole).Length;
            if (budget == 1.0)
            {
                // Nothing evicted: a step's delta is its own tokens, a fraction of the session's.
                Assert.True(chain[^1].Length * 3 < fullLength, $"a delta of {chain[^1].Length} bytes against a full checkpoint of {fullLength}");
            }
        }

        using var restored = (AgentSession)_runtime.RestoreSession(chain.Select(b => (ReadOnlyMemory<byte>)b).ToArray());
        Assert.Equal(live.Save(), restored.Save());
        Assert.Equal(live.NextPosition, restored.NextPosition);
        Assert.Equal(live.SeenTokens, restored.SeenTokens);

        var screen = TinyRuntimeFixture.Screen(7, 300, 220);
        var expected = live.Step(screen, "Type hello.", CancellationToken.None);
        var actual = restored.Step(screen, "Type hello.", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(live.LastPromptLogits!, restored.LastPromptLogits!);
        Assert.Equal(expected.Figures.KeptPerLayer, actual.Figures.KeptPerLayer);
        Assert.Equal(expected.Figures.KvBytes, actual.Figures.KvBytes);

        // The restored session continues the chain with deltas of its own.
        using var next = restored.CaptureCheckpoint(full: false);
        Assert.True(next.IsDelta);
        chain.Add(Written(next));
        using var again = (AgentSession)_runtime.RestoreSession(chain.Select(b => (ReadOnlyMemory<byte>)b).ToArray());
        Assert.Equal(live.Save(), again.Save());
    }

    [Fact]
    public void A_chain_with_a_gap_or_without_its_full_checkpoint_is_refused()
    {
        using var live = (AgentSession)_runtime.CreateSession(new SessionOptions { Method = "snapkv", BudgetRatio = 0.3, MaxNewTokens = 3 });
        var chain = new List<byte[]>();
        for (var step = 0; step < 3; step++)
        {
            live.Step(TinyRuntimeFixture.Screen(step), "", CancellationToken.None);
            using var capture = live.CaptureCheckpoint(full: false);
            chain.Add(Written(capture));
        }

        var gap = Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession([chain[0], chain[2]]));
        Assert.Contains("gap", gap.Message, StringComparison.Ordinal);
        var headless = Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession([chain[1], chain[2]]));
        Assert.Contains("starts with a full checkpoint", headless.Message, StringComparison.Ordinal);

        // A capture that does not follow the previous one is taken whole.
        live.Step(TinyRuntimeFixture.Screen(3), "", CancellationToken.None);
        live.Step(TinyRuntimeFixture.Screen(4), "", CancellationToken.None);
        using var late = live.CaptureCheckpoint(full: false);
        Assert.False(late.IsDelta);
    }

    private static byte[] Written(ISessionCheckpoint checkpoint)
    {
        using var stream = new MemoryStream();
        checkpoint.WriteTo(stream, CancellationToken.None);
        return stream.ToArray();
    }

    [Fact]
    public void A_bfloat16_session_saves_its_cache_in_bfloat16_and_restores_exactly()
    {
        using var runtime = Qwen25VlRuntime.LoadFolder(fixture.Folder, "tiny-bf16", torch.CPU, torch.ScalarType.BFloat16);
        Assert.Equal(_runtime.KvBytesPerToken / 2, runtime.KvBytesPerToken);
        Assert.Equal(_runtime.Fingerprint, runtime.Fingerprint);
        var options = new SessionOptions { Method = "snapkv", BudgetRatio = 0.3, MaxNewTokens = 3, Task = "Close the dialog." };
        using var original = (AgentSession)runtime.CreateSession(options);
        var first = original.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);
        Assert.Equal(first.Figures.KeptPerLayer.Sum(k => k + options.MaxNewTokens - 1) * runtime.KvBytesPerToken / 2, original.KvBytes);
        var checkpoint = original.Save();
        Assert.True(checkpoint.Length > original.KvBytes && checkpoint.Length < 2 * original.KvBytes + 200_000, $"{checkpoint.Length} bytes for {original.KvBytes} KV bytes");

        using var restored = (AgentSession)runtime.RestoreSession(checkpoint);
        var expected = original.Step(TinyRuntimeFixture.Screen(1), "", CancellationToken.None);
        var actual = restored.Step(TinyRuntimeFixture.Screen(1), "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(original.LastPromptLogits!, restored.LastPromptLogits!);
    }

    [Fact]
    public void Restoring_into_another_model_fails_naming_both_fingerprints()
    {
        using var session = _runtime.CreateSession(new SessionOptions { Method = "snapkv", MaxNewTokens = 3 });
        session.Step(TinyRuntimeFixture.Screen(0), "Click OK.", CancellationToken.None);
        var checkpoint = session.Save();

        var folder = Path.Combine(Path.GetTempPath(), "starkv-session-other-" + Guid.NewGuid().ToString("N"));
        try
        {
            TinyModelFolder.Write(folder, TinyModelFolder.DefaultSeed);
            var configPath = Path.Combine(folder, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
            var text = config["text_config"]?.AsObject() ?? config;
            text["rms_norm_eps"] = 1e-5;
            File.WriteAllText(configPath, config.ToJsonString());
            using var other = Qwen25VlRuntime.LoadFolder(folder, "tiny-other", torch.CPU, torch.ScalarType.Float32);
            Assert.NotEqual(_runtime.Fingerprint, other.Fingerprint);

            var error = Assert.Throws<SessionCheckpointException>(() => other.RestoreSession(checkpoint));
            Assert.Contains(other.Fingerprint, error.Message, StringComparison.Ordinal);
            Assert.Contains(_runtime.Fingerprint, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Damaged_truncated_or_foreign_checkpoints_are_refused_clearly()
    {
        using var session = _runtime.CreateSession(new SessionOptions { Method = "starkv", MaxNewTokens = 3 });
        session.Step(TinyRuntimeFixture.Screen(0), "Click OK.", CancellationToken.None);
        var checkpoint = session.Save();

        var truncated = Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession(checkpoint.AsSpan(0, checkpoint.Length / 2)));
        Assert.Contains("truncated", truncated.Message, StringComparison.Ordinal);

        var flipped = (byte[])checkpoint.Clone();
        flipped[flipped.Length / 2] ^= 0x40;
        Assert.Contains("damaged", Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession(flipped)).Message, StringComparison.Ordinal);

        var newer = (byte[])checkpoint.Clone();
        BitConverter.TryWriteBytes(newer.AsSpan(4, 4), 99);
        var version = Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession(newer));
        Assert.Contains("version 99", version.Message, StringComparison.Ordinal);
        Assert.Contains("expected version 2", version.Message, StringComparison.Ordinal);

        Assert.Contains("SKVS", Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession("garbage"u8)).Message, StringComparison.Ordinal);
    }
}
