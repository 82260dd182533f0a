using StarKv.GpuWorker.Sessions;
using RuntimeMode = StarKv.GpuWorker.Sessions.SessionMode;

namespace StarKv.Grains.Sessions;

/// <summary>Turns the wire's <see cref="SessionConfig"/> into the model runtime's <see cref="SessionOptions"/>.</summary>
public static class SessionConfigExtensions
{
    public static SessionOptions ToSessionOptions(this SessionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new SessionOptions
        {
            Method = config.Method,
            BudgetRatio = config.BudgetRatio,
            BudgetTokens = config.BudgetTokens,
            Mode = ToRuntimeMode(config.Mode),
            MaxNewTokens = config.MaxNewTokens,
            HistoryScreenshots = config.HistoryScreenshots,
            Task = config.Task,
            Seed = config.Seed,
        };
    }

    /// <summary>The runtime's mode of the same name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value the contract does not define.</exception>
    public static RuntimeMode ToRuntimeMode(SessionMode mode) => mode switch
    {
        SessionMode.RetainedCache => RuntimeMode.RetainedCache,
        SessionMode.ReprefillHistory => RuntimeMode.ReprefillHistory,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a session mode of the contract."),
    };
}
