using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.Tests.Sessions;
using StarKv.GpuWorker.TinyModel;

namespace StarKv.GpuWorker.Tests.Runtime;

[Collection(TinyRuntimeGroup.Name)]
public sealed class Qwen25VlRuntimeTests(TinyRuntimeFixture fixture)
{
    private readonly Qwen25VlRuntime _runtime = fixture.Runtime;

    [Fact]
    public void The_tiny_runtime_reports_its_model_and_the_kv_cost_of_a_token()
    {
        var config = TinyModelConfig.Create();
        Assert.Equal("tiny", _runtime.ModelId);
        Assert.Equal("cpu", _runtime.Device);
        Assert.Equal(config.Fingerprint(), _runtime.Fingerprint);
        // 2 layers · (keys + values) · 2 KV heads · head dim 16 · 4 bytes (fp32).
        Assert.Equal(2 * 2 * 2 * 16 * 4, _runtime.KvBytesPerToken);
        Assert.True(TinyModelFolder.IsIntact(fixture.Folder, TinyModelFolder.DefaultSeed));
    }

    [Fact]
    public void Session_options_are_validated_with_clear_messages()
    {
        var unknown = Assert.Throws<ArgumentException>(() => _runtime.CreateSession(new SessionOptions { Method = "lz4" }));
        Assert.Contains("'lz4'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("starkv", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("snapkv", unknown.Message, StringComparison.Ordinal);

        foreach (var ratio in new[] { 0.0, -0.1, 1.5, double.NaN })
        {
            var error = Assert.Throws<ArgumentException>(() => _runtime.CreateSession(new SessionOptions { BudgetRatio = ratio }));
            Assert.Contains("BudgetRatio", error.Message, StringComparison.Ordinal);
        }

        Assert.Contains("MaxNewTokens", Assert.Throws<ArgumentException>(() => _runtime.CreateSession(new SessionOptions { MaxNewTokens = 0 })).Message, StringComparison.Ordinal);
        Assert.Contains("BudgetTokens", Assert.Throws<ArgumentException>(() => _runtime.CreateSession(new SessionOptions { BudgetTokens = 0 })).Message, StringComparison.Ordinal);

        using var ok = _runtime.CreateSession(new SessionOptions { Method = "StarKV", BudgetRatio = 1.0, MaxNewTokens = 1 });
        Assert.Equal(0, ok.StepsTaken);
        Assert.Equal(0, ok.KvBytes);
    }
}
