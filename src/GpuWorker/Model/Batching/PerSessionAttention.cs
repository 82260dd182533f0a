using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>
/// Attention inside the batched layer, one row at a time against its own cache with <see cref="GroupedAttention"/>:
/// the same call a single session's decode makes, so each row's attention is exactly the serial one. Nothing is copied
/// but the new entries; on the CPU the attention of a decode token is a small share of the step next to the weight
/// reads the batch shares.
/// </summary>
public sealed class PerSessionAttention : IBatchedAttention
{
    public static PerSessionAttention Instance { get; } = new();

    public torch.Tensor AppendAndAttend(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, IReadOnlyList<LayerKvCache> caches, IReadOnlyList<TokenInfo> tokens)
    {
        BatchedAttentionChecks.Check(queries, keys, values, caches, tokens);
        using var scope = torch.NewDisposeScope();
        var rows = new torch.Tensor[caches.Count];
        for (var b = 0; b < caches.Count; b++)
        {
            var cache = caches[b];
            cache.Append(keys.narrow(1, b, 1), values.narrow(1, b, 1), [tokens[b]]);
            rows[b] = GroupedAttention.AttendTail(queries.narrow(1, b, 1).contiguous(), cache.Keys, cache.Values); // [H, 1, D]
        }

        return torch.cat(rows, 1).MoveToOuterDisposeScope(); // [H, B, D]
    }
}
