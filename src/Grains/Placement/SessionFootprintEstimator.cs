using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Placement;

/// <summary>This silo's <see cref="SessionFootprint"/>: its model's KV bytes per token and <c>StarKv:Capacity:ExpectedSessionTokens</c>.</summary>
public sealed class SessionFootprintEstimator(IModelRuntime runtime, IOptions<CapacityOptions> capacity)
{
    public long KvBytesPerToken => runtime.KvBytesPerToken;

    public long Estimate(SessionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Estimate(config.BudgetRatio, config.BudgetTokens, runtime.KvBytesPerToken);
    }

    /// <summary>A session of this budget on a model of <paramref name="kvBytesPerToken"/>.</summary>
    public long Estimate(double budgetRatio, int? budgetTokens, long kvBytesPerToken) =>
        SessionFootprint.EstimateBytes(budgetRatio, budgetTokens, kvBytesPerToken, capacity.Value.ExpectedSessionTokens);
}
