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
        Assert.Contains("expected version 1", version.Message, StringComparison.Ordinal);

        Assert.Contains("SKVS", Assert.Throws<SessionCheckpointException>(() => _runtime.RestoreSession("garbage"u8)).Message, StringComparison.Ordinal);
    }
}
