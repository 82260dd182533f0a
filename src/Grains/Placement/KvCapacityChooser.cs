using System.Globalization;

namespace StarKv.Grains.Placement;

/// <summary>
/// The placement rule: among silos serving the model, with room, the one with the most free KV bytes; among
/// equals, the one holding fewer sessions (a new session holds no KV bytes until its first step).
/// </summary>
public static class KvCapacityChooser
{
    public static PlacementChoice Choose(IReadOnlyCollection<SiloLoadReport> reports, string? modelId, IReadOnlyCollection<string>? exclude)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var candidates = reports.Where(r => exclude is null || !exclude.Contains(r.Silo)).ToList();
        if (candidates.Count == 0)
        {
            return new PlacementChoice(null, reports.Count == 0
                ? "no silo has reported its load yet"
                : "no other silo has reported its load");
        }

        var serving = modelId is null ? candidates : candidates.Where(r => r.ModelId == modelId).ToList();
        if (serving.Count == 0)
        {
            var models = string.Join(", ", candidates.Select(r => r.ModelId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
            return new PlacementChoice(null, $"no silo serves model '{modelId}' (the silos serve: {models})");
        }

        var best = serving.Where(r => r.HasRoom).OrderByDescending(r => r.FreeBytes).ThenBy(r => r.Sessions).ThenBy(r => r.Silo, StringComparer.Ordinal).FirstOrDefault();
        if (best is not null)
        {
            return new PlacementChoice(best.Silo, $"{best.Silo} has {best.FreeBytes} free KV bytes");
        }

        var states = string.Join("; ", serving.Select(r => r.Draining
            ? $"{r.Silo} is draining"
            : string.Create(CultureInfo.InvariantCulture, $"{r.Silo} holds {r.KvBytesInUse} of {r.KvBudgetBytes} KV bytes (high watermark {r.HighWatermark * 100:F0}%)")));
        return new PlacementChoice(null, $"no silo serving model '{modelId ?? "any"}' has room: {states}");
    }
}
