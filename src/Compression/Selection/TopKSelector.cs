using TorchSharp;

namespace StarKv.Compression.Selection;

/// <summary>
/// Turns scores over the past entries into kept indices: the last <c>recent</c> entries (at least the window)
/// are forced in, the best <c>keep − recent</c> of the other entries are added, highest score first and the
/// lower index first among equal scores, and each row is sorted ascending.
/// </summary>
public static class TopKSelector
{
    /// <param name="scores">Scores of the past entries, one row per KV head or one shared row. // [G or 1, P]</param>
    /// <param name="shape">The layer's sizes.</param>
    /// <param name="keep">Entries each head keeps, in (W, L).</param>
    /// <param name="recent">Trailing entries forced in, in [W, keep].</param>
    /// <param name="device">Where the indices live (the keys' device).</param>
    /// <returns>The kept indices per KV head. // [G, keep] int64</returns>
    public static torch.Tensor Select(torch.Tensor scores, LayerShape shape, int keep, int recent, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var length = shape.Length;
        var candidates = length - recent;
        var take = keep - recent;
        using var scope = torch.NewDisposeScope();
        var rows = scores.shape[0];
        var tail = torch.arange(candidates, length, torch.int64, device).expand(rows, recent); // [rows, recent]
        torch.Tensor chosen;
        if (take > 0)
        {
            var pool = scores.narrow(1, 0, candidates); // [rows, candidates]
            var (_, order) = pool.sort(dim: 1, descending: true, stable: true); // [rows, candidates]
            chosen = torch.cat([order.narrow(1, 0, take).to(device), tail], 1); // [rows, keep]
        }
        else
        {
            chosen = tail;
        }

        var (sorted, _) = chosen.sort(dim: 1); // [rows, keep]
        var indices = rows == shape.Groups ? sorted.contiguous() : sorted.expand(shape.Groups, keep).contiguous(); // [G, keep]
        return indices.MoveToOuterDisposeScope();
    }

    /// <summary>Every entry, for a layer that is not compressed. // [G, L] int64</summary>
    public static torch.Tensor All(LayerShape shape, torch.Device device) =>
        torch.arange(shape.Length, torch.int64, device).expand(shape.Groups, shape.Length).contiguous();
}
