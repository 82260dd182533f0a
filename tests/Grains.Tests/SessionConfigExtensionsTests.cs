using StarKv.Grains.Sessions;
using RuntimeMode = StarKv.GpuWorker.Sessions.SessionMode;

namespace StarKv.Grains.Tests;

/// <summary>The wire's session configuration becomes the runtime's session options field by field.</summary>
public sealed class SessionConfigExtensionsTests
{
    [Fact]
    public void Every_contract_mode_maps_to_the_runtime_mode_of_the_same_name()
    {
        Assert.Equal(Enum.GetNames<RuntimeMode>().Order(), Enum.GetNames<SessionMode>().Order());
        foreach (var mode in Enum.GetValues<SessionMode>())
        {
            Assert.Equal(mode.ToString(), SessionConfigExtensions.ToRuntimeMode(mode).ToString());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => SessionConfigExtensions.ToRuntimeMode((SessionMode)7));
    }

    [Fact]
    public void Session_options_carry_every_field_of_the_config()
    {
        var config = new SessionConfig
        {
            ModelId = "tiny",
            Method = "snapkv",
            BudgetRatio = 0.3,
            BudgetTokens = 512,
            Mode = SessionMode.ReprefillHistory,
            MaxNewTokens = 17,
            HistoryScreenshots = 3,
            Task = "Open the settings.",
            Seed = 9,
        };

        var options = config.ToSessionOptions();

        Assert.Equal(
            ("snapkv", 0.3, (int?)512, RuntimeMode.ReprefillHistory, 17, 3, "Open the settings.", 9),
            (options.Method, options.BudgetRatio, options.BudgetTokens, options.Mode, options.MaxNewTokens, options.HistoryScreenshots, options.Task, options.Seed));
    }
}
